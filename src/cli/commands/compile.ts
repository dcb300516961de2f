import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import { withCompileFlags, proxyOptions, type CompileFlags } from '../flags.js';
import { writeOutput } from '../io.js';
import { compileIptablesText, loadModel } from '../pipeline.js';
import { backendText } from '../backends.js';

interface Args extends CompileFlags {
  paths: string[];
  output?: string;
  verbose?: boolean;
}

export const compileCommand = {
  command: 'compile [paths..]',
  describe: "Compile Services and EndpointSlices into kube-proxy's rules for one node",
  builder: (y: Argv) =>
    withCompileFlags(
      y
        .positional('paths', { type: 'string', array: true, describe: 'Manifest files or directories; - for stdin' })
        .option('output', { alias: 'o', type: 'string', describe: 'Write to FILE (atomically) instead of stdout' })
        .option('verbose', { type: 'boolean', describe: 'Say what was skipped and which defaults were assumed' }),
    ),
  handler: (argv: Args) => {
    const opts = proxyOptions(argv);
    const { model, notes } = loadModel(argv.paths ?? [], opts);
    if (argv['previous-rules'] && opts.proxyMode !== 'iptables') throw new UsageError('--previous-rules applies to --proxy-mode iptables');
    if (argv.verbose) for (const n of notes) process.stderr.write(`ktables: ${n}\n`);
    const text = opts.proxyMode === 'iptables' ? compileIptablesText(model, argv['previous-rules']).text : backendText(model);
    writeOutput(text, argv.output);
  },
};
