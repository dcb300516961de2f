import type { Host } from '../../host.js';
import { cleanup, cleanupFailed } from '../../apply/cleanup.js';
import { System } from '../../apply/system.js';
import { targetName } from '../../apply/state.js';
import { writeStdout } from '../io.js';

export interface CleanupArgs {
  netns?: string;
  verbose?: boolean;
}

export async function run(argv: CleanupArgs, host: Host): Promise<void> {
  const say = (line: string) => host.stderr.write(`ktables: ${line}\n`);
  const target = argv.netns ? { netns: argv.netns } : {};
  const r = await cleanup(new System(argv.verbose ? say : undefined, host), target);
  for (const line of r.removed) writeStdout(host, `removed ${line}\n`);
  if (r.problems.length > 0) throw cleanupFailed(target, r.problems);
  if (r.removed.length === 0) say(`nothing to remove on ${targetName(target)}`);
}
