import type { Host } from '../../host.js';
import yaml from 'js-yaml';
import { InputError, UsageError, VerifyFailed } from '../../errors.js';
import { System } from '../../apply/system.js';
import { forgetTarget } from '../../apply/state.js';
import { destroyLab, labNames } from '../../verify/lab.js';
import { formatReport, reportJson } from '../../verify/report.js';
import { runVerify, type Flow } from '../../verify/verify.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { loadModel } from '../pipeline.js';
import { writeStdout } from '../io.js';

export interface VerifyArgs extends CompileFlags {
  paths?: string[];
  flows?: string;
  keep?: boolean;
  down?: string;
  timeout?: number;
  json?: boolean;
  verbose?: boolean;
}

/** A flows file as kube-proxy's conformance cases hold them (flows.yaml / flows.json). */
function readFlows(host: Host, file: string): Flow[] {
  let raw: unknown;
  try {
    raw = yaml.load(host.fs.readFileSync(file, 'utf8'), { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw new InputError([{ file, message: `cannot read flows: ${(e as Error).message}` }]);
  }
  if (!Array.isArray(raw)) throw new InputError([{ file, message: 'expected a list of flows' }]);
  return raw.map((f, i) => {
    const o = f as Record<string, unknown>;
    const bad = (field: string) => new InputError([{ file, field: `[${i}].${field}`, message: 'missing or invalid', value: o[field] }]);
    if (typeof o['sourceIP'] !== 'string') throw bad('sourceIP');
    if (typeof o['destIP'] !== 'string') throw bad('destIP');
    if (typeof o['destPort'] !== 'number') throw bad('destPort');
    const flow: Flow = { sourceIP: o['sourceIP'], destIP: o['destIP'], destPort: o['destPort'] };
    if (typeof o['name'] === 'string') flow.name = o['name'];
    if (typeof o['protocol'] === 'string') flow.protocol = o['protocol'];
    if (typeof o['output'] === 'string') flow.output = o['output'];
    if (typeof o['masq'] === 'boolean') flow.masq = o['masq'];
    return flow;
  });
}

export async function run(argv: VerifyArgs, host: Host): Promise<void> {
  const say = (line: string) => host.stderr.write(`ktables: ${line}\n`);
  const sys = new System(argv.verbose ? say : undefined);
  if (argv.down) {
    if (!/^kt[0-9a-f]{6}$/.test(argv.down))
      throw new UsageError(`--down takes a lab id such as kt1a2b3c (got ${JSON.stringify(argv.down)})`);
    const removed = destroyLab(sys, argv.down);
    forgetTarget({ netns: labNames(argv.down).node });
    say(removed.length > 0 ? `removed ${removed.join(', ')}` : `no lab ${argv.down}`);
    return;
  }
  const opts = proxyOptions(argv, host);
  if (argv['previous-rules']) throw new UsageError('verify builds a fresh node: drop --previous-rules');
  if (!(argv.timeout! > 0)) throw new UsageError('--timeout must be a positive number of milliseconds');
  const { model, notes } = loadModel(argv.paths ?? [], opts, host);
  if (argv.verbose) for (const n of notes) say(n);
  const input = {
    model,
    mode: opts.proxyMode,
    keep: argv.keep,
    timeoutMs: argv.timeout,
    say,
    ...(argv.flows ? { flows: readFlows(host, argv.flows) } : {}),
  };
  const report = await runVerify(sys, input);
  writeStdout(host, argv.json ? JSON.stringify(reportJson(report), null, 2) + '\n' : formatReport(report));
  if (!report.ok) {
    const bad = report.rows.filter((r) => !r.ok).length;
    throw new VerifyFailed(`${bad} of ${report.rows.length} probes did not behave as predicted`);
  }
}
