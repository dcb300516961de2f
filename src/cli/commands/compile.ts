import { UsageError } from '../../errors.js';
import type { Host } from '../../host.js';
import { compileIptables } from '../../backends/iptables/compile.js';
import { compileNftables } from '../../backends/nftables/compile.js';
import { emitIptablesChunks } from '../../emit/iptables.js';
import { emitNftablesChunks } from '../../emit/nftables.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { outputFlag, writeOutput } from '../io.js';
import { loadModel, previousNatChains } from '../pipeline.js';

export interface CompileArgs extends CompileFlags {
  paths?: string[];
  output?: string;
  verbose?: boolean;
}

export function run(argv: CompileArgs, host: Host): void {
  const output = outputFlag(argv.output);
  const opts = proxyOptions(argv, host);
  const { model, notes } = loadModel(argv.paths ?? [], opts, host);
  if (argv['previous-rules'] && opts.proxyMode !== 'iptables') throw new UsageError('--previous-rules applies to --proxy-mode iptables');
  if (argv.verbose) for (const n of notes) host.stderr.write(`ktables: ${n}\n`);
  // The rule set is built whole (so a failure writes nothing); its text is streamed out in pieces.
  const text =
    opts.proxyMode === 'iptables'
      ? emitIptablesChunks(compileIptables(model, { previousNatChains: previousNatChains(host, argv['previous-rules']) }))
      : emitNftablesChunks(compileNftables(model));
  writeOutput(host, text, output);
}
