// `ktables diff --behaviour OLD NEW`: wiring only. Each side is a rule file or manifests; for
// manifests, every compile flag X can be set for one side with --old-X / --new-X.
import type { Family } from '../../util/ip.js';
import { EXIT, UsageError } from '../../errors.js';
import type { Host } from '../../host.js';
import { changeCount } from '../../behaviour/compare.js';
import { formatBehaviourJson, formatBehaviourMarkdown, formatBehaviourText } from '../../behaviour/format.js';
import { servicePicture } from '../../graph/build.js';
import { pictureTitle, wordsContext } from '../../graph/pictures.js';
import { toMermaid } from '../../graph/render.js';
import { behaviourInputs, type BehaviourSide } from '../../app/behaviour-inputs.js';
import { SIDES, VERSION_FLAG, compileFlagSpecs, type FlagSpec, type Side } from '../behaviour-flags.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { outputFlag, writeOutput } from '../io.js';

type Args = CompileFlags &
  Record<string, unknown> & {
    old: string;
    new: string;
    format: 'text' | 'json' | 'markdown';
    stat?: boolean;
    'exit-code'?: boolean;
    output?: string;
    verbose?: boolean;
  };

/** The compile flags of one side: the shared ones, each overridden by its --old-X / --new-X. */
function sideFlags(argv: Args, side: Side, specs: FlagSpec[]): CompileFlags {
  const flags: Record<string, unknown> = {};
  for (const s of specs) {
    const own = argv[`${side}-${s.name}`];
    const shared = argv[s.name];
    if (own !== undefined) flags[s.name] = own;
    else if (shared !== undefined) flags[s.name] = shared;
  }
  return flags as CompileFlags;
}

/** A side flag without --behaviour would be ignored by the rule diff: say so instead. */
export function checkSideFlags(argv: Record<string, unknown>): void {
  const given = Object.keys(argv).filter((k) => /^(old|new)-/.test(k) && argv[k] !== undefined);
  if (given.length > 0)
    throw new UsageError(`--${given[0]} sets one side of a behaviour diff: add --behaviour (the rule diff compiles both sides alike)`);
}

/** One side as its flags set it, for app/behaviour-inputs.ts. */
function sideOf(host: Host, argv: Args, side: Side, specs: FlagSpec[]): BehaviourSide {
  const flags = sideFlags(argv, side, specs);
  const version = (flags as Record<string, unknown>)[VERSION_FLAG];
  return {
    arg: argv[side],
    proxyMode: flags['proxy-mode'],
    proxyModeFlag: `${argv[`${side}-proxy-mode`] ? `${side}-` : ''}proxy-mode`,
    nodeIPs: flags['node-ip'] ? proxyOptions({ 'node-ip': flags['node-ip'] }, host).nodeIPs : undefined,
    family: flags['ip-family'] as Family | undefined,
    version: version === undefined ? undefined : String(version),
    previousRules: flags['previous-rules'],
    options: (mode) => proxyOptions(mode ? { ...flags, 'proxy-mode': mode } : flags, host),
  };
}

export function behaviourDiff(argv: Args, host: Host): number {
  for (const k of SIDES) if ((argv[k] as unknown) === '' || (argv[k] as unknown) === true) argv[k] = '-';
  if (argv.old === '-' && argv.new === '-') throw new UsageError('only one side can be read from stdin');
  if (argv.stat) throw new UsageError('--stat counts rules: it does not go with --behaviour');
  const specs = compileFlagSpecs();
  const { result, probes, models, tracers, notes } = behaviourInputs(host, [
    sideOf(host, argv, 'old', specs),
    sideOf(host, argv, 'new', specs),
  ]);
  if (argv.verbose) for (const n of notes) host.stderr.write(`ktables: ${n}\n`);
  const text =
    argv.format === 'json'
      ? formatBehaviourJson(result)
      : argv.format === 'markdown'
        ? formatBehaviourMarkdown(result, (service, protocol) => {
            const title = pictureTitle(service, protocol);
            const these = probes.filter((p) => p.service === service && p.protocol.toUpperCase() === protocol);
            const ctx = wordsContext(models[0]!);
            return {
              old: toMermaid(servicePicture(title, these, tracers[0], ctx)),
              new: toMermaid(servicePicture(title, these, tracers[1], ctx)),
            };
          })
        : formatBehaviourText(result);
  writeOutput(host, text, outputFlag(argv.output));
  return argv['exit-code'] && changeCount(result) > 0 ? EXIT.differences : EXIT.ok;
}
