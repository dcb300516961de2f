import type { Host } from '../../host.js';
import { compileRules } from '../../app/compile-rules.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { outputFlag, writeOutput } from '../io.js';

export interface CompileArgs extends CompileFlags {
  paths?: string[];
  output?: string;
  verbose?: boolean;
}

export function run(argv: CompileArgs, host: Host): void {
  const output = outputFlag(argv.output);
  const opts = proxyOptions(argv, host);
  const { notes, text } = compileRules(host, argv.paths ?? [], opts, argv['previous-rules']);
  if (argv.verbose) for (const n of notes) host.stderr.write(`ktables: ${n}\n`);
  writeOutput(host, text, output);
}
