import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import { applyRules } from '../../apply/execute.js';
import { describeChange } from '../../apply/change.js';
import { System } from '../../apply/system.js';
import { targetName } from '../../apply/state.js';
import { withCompileFlags, proxyOptions, type CompileFlags } from '../flags.js';
import { loadModel } from '../pipeline.js';
import { fileSource } from '../rules-source.js';
import { modelSource } from '../../apply/sources.js';

interface Args extends CompileFlags {
  paths?: string[];
  rules?: string;
  netns?: string;
  'dry-run'?: boolean;
  verbose?: boolean;
}

export const applyCommand = {
  command: 'apply [paths..]',
  describe: "Program this host (or a network namespace) with kube-proxy's rules, the way kube-proxy does",
  builder: (y: Argv) =>
    withCompileFlags(
      y
        .positional('paths', { type: 'string', array: true, describe: 'Manifest files or directories to compile; - for stdin' })
        .option('rules', { type: 'string', describe: 'Load this rules file (iptables-restore or nft input) instead of compiling' })
        .option('netns', { type: 'string', describe: 'Apply inside this network namespace (ip netns) instead of the host' })
        .option('dry-run', { type: 'boolean', describe: 'Validate and show what would change; change nothing' })
        .option('verbose', { type: 'boolean', describe: 'Show every command run, and notes' })
        .example('$0 apply --netns test examples/cluster.yaml', 'program a network namespace')
        .example('$0 apply --dry-run examples/cluster.yaml', 'what would change on this host'),
    ),
  handler: async (argv: Args) => {
    const opts = proxyOptions(argv);
    if (argv['previous-rules']) throw new UsageError("apply reads the node's current rules itself: drop --previous-rules");
    const paths = argv.paths ?? [];
    if (argv.rules && paths.length > 0) throw new UsageError('give either manifests to compile or --rules FILE, not both');
    const say = (line: string) => process.stderr.write(`ktables: ${line}\n`);
    const sys = new System(argv.verbose ? say : undefined);
    let source = argv.rules ? fileSource(argv.rules, opts.proxyMode, argv['ip-family'] ? opts.ipFamily : undefined) : undefined;
    if (!source) {
      // No --rules, or a --rules file that holds manifests: compile.
      const { model, notes } = loadModel(argv.rules ? [argv.rules] : paths, opts);
      if (argv.verbose) for (const n of notes) say(n);
      source = modelSource(model, opts.proxyMode);
    }
    const target = argv.netns ? { netns: argv.netns } : {};
    const r = await applyRules(sys, target, source, { dryRun: argv['dry-run'], say: argv.verbose ? say : undefined, describeChange });
    for (const n of r.notes) say(n);
    if (argv['dry-run']) {
      process.stdout.write(r.change ?? '');
      say(`dry run: the rules passed ${r.plan.checks.map((c) => [c.cmd, ...c.args].join(' ')).join(', ')}; ${targetName(target)} was not changed`);
      return;
    }
    say(`applied ${source.backend} (${source.family}) rules to ${targetName(target)}; previous state saved in ${r.backup}`);
  },
};
