import type { Argv } from 'yargs';
import { cleanup, cleanupFailed } from '../../apply/cleanup.js';
import { System } from '../../apply/system.js';
import { targetName } from '../../apply/state.js';

interface Args {
  netns?: string;
  verbose?: boolean;
}

export const cleanupCommand = {
  command: 'cleanup',
  describe: 'Remove everything kube-proxy and ktables installed: jump rules, KUBE-* chains, the kube-proxy nftables table, nfacct counters',
  builder: (y: Argv) =>
    y
      .option('netns', { type: 'string', describe: 'Clean this network namespace (ip netns) instead of the host' })
      .option('verbose', { type: 'boolean', describe: 'Show every command run' }),
  handler: async (argv: Args) => {
    const say = (line: string) => process.stderr.write(`ktables: ${line}\n`);
    const target = argv.netns ? { netns: argv.netns } : {};
    const r = await cleanup(new System(argv.verbose ? say : undefined), target);
    for (const line of r.removed) process.stdout.write(`removed ${line}\n`);
    if (r.problems.length > 0) throw cleanupFailed(target, r.problems);
    if (r.removed.length === 0) say(`nothing to remove on ${targetName(target)}`);
  },
};
