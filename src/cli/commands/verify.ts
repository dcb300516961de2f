import type { Host } from '../../host.js';
import { InputError, UsageError, VerifyFailed } from '../../errors.js';
import { System } from '../../apply/system.js';
import { forgetTarget } from '../../apply/state.js';
import { destroyLab, labNames } from '../../verify/lab.js';
import { formatReport, reportJson } from '../../verify/report.js';
import { runVerify, type Flow } from '../../verify/verify.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { loadModel } from '../../app/compile-rules.js';
import { readTextFile } from '../../app/read-file.js';
import { writeStdout } from '../io.js';
import { parseFlows } from '../../input/flows.js';

export interface VerifyArgs extends CompileFlags {
  paths?: string[];
  flows?: string;
  keep?: boolean;
  down?: string;
  timeout?: number;
  json?: boolean;
  verbose?: boolean;
}

/** The flows of `--flows FILE` (YAML or JSON), validated; any problem is exit 2. */
function readFlows(host: Host, file: string): Flow[] {
  const r = parseFlows(file === '-' ? '<stdin>' : file, readTextFile(host, file));
  if ('problems' in r) throw new InputError(r.problems);
  return r.flows;
}

export async function run(argv: VerifyArgs, host: Host): Promise<void> {
  const say = (line: string) => host.stderr.write(`ktables: ${line}\n`);
  const sys = new System(argv.verbose ? say : undefined, host);
  if (argv.down) {
    if (!/^kt[0-9a-f]{6}$/.test(argv.down))
      throw new UsageError(`--down takes a lab id such as kt1a2b3c (got ${JSON.stringify(argv.down)})`);
    const removed = destroyLab(sys, argv.down);
    forgetTarget(host, { netns: labNames(argv.down).node });
    say(removed.length > 0 ? `removed ${removed.join(', ')}` : `no lab ${argv.down}`);
    return;
  }
  const opts = proxyOptions(argv, host);
  if (argv['previous-rules']) throw new UsageError('verify builds a fresh node: drop --previous-rules');
  if (!(argv.timeout! > 0)) throw new UsageError('--timeout must be a positive number of milliseconds');
  // yargs reads `--flows -` as an empty value.
  const flowsFile = argv.flows === '' ? '-' : argv.flows;
  const paths = argv.paths ?? [];
  if (flowsFile === '-' && (paths.length === 0 || paths.includes('-')))
    throw new UsageError('only one of the manifests and --flows can be read from stdin');
  const flows = flowsFile !== undefined ? readFlows(host, flowsFile) : undefined;
  const { model, notes } = loadModel(paths, opts, host);
  if (argv.verbose) for (const n of notes) say(n);
  const input = {
    model,
    mode: opts.proxyMode,
    keep: argv.keep,
    timeoutMs: argv.timeout,
    say,
    ...(flows ? { flows } : {}),
  };
  const report = await runVerify(sys, input);
  writeStdout(host, argv.json ? JSON.stringify(reportJson(report), null, 2) + '\n' : formatReport(report));
  if (argv.verbose) say(sys.spentLine());
  if (!report.ok) {
    const bad = report.rows.filter((r) => !r.ok).length;
    throw new VerifyFailed(`${bad} of ${report.rows.length} probes did not behave as predicted`);
  }
}
