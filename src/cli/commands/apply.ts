import type { Host } from '../../host.js';
import { UsageError } from '../../errors.js';
import { applyRules } from '../../apply/execute.js';
import { describeChange } from '../../apply/change.js';
import { System } from '../../apply/system.js';
import { targetName } from '../../apply/state.js';
import { applyInputs } from '../../app/apply-inputs.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { writeStdout } from '../io.js';

export interface ApplyArgs extends CompileFlags {
  paths?: string[];
  rules?: string;
  netns?: string;
  'dry-run'?: boolean;
  verbose?: boolean;
}

export async function run(argv: ApplyArgs, host: Host): Promise<void> {
  const opts = proxyOptions(argv, host);
  if (argv['previous-rules']) throw new UsageError("apply reads the node's current rules itself: drop --previous-rules");
  const say = (line: string) => host.stderr.write(`ktables: ${line}\n`);
  const sys = new System(argv.verbose ? say : undefined, host);
  const { source, notes } = applyInputs(
    host,
    { paths: argv.paths ?? [], rules: argv.rules, family: argv['ip-family'] ? opts.ipFamily : undefined },
    opts,
  );
  if (argv.verbose) for (const n of notes) say(n);
  const target = argv.netns ? { netns: argv.netns } : {};
  const r = await applyRules(sys, target, source, { dryRun: argv['dry-run'], say: argv.verbose ? say : undefined, describeChange });
  for (const n of r.notes) say(n);
  if (argv['dry-run']) {
    writeStdout(host, r.change ?? '');
    say(
      `dry run: the rules passed ${r.plan.checks.map((c) => [c.cmd, ...c.args].join(' ')).join(', ')}; ${targetName(target)} was not changed`,
    );
  } else say(`applied ${source.backend} (${source.family}) rules to ${targetName(target)}; previous state saved in ${r.backup}`);
  if (argv.verbose) say(sys.spentLine());
}
