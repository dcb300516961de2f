// `ktables diff --behaviour OLD NEW`: wiring only. Each side is a rule file or manifests; for
// manifests, every compile flag X can be set for one side with --old-X / --new-X.
import type { Family } from '../../util/ip.js';
import { EXIT, UsageError } from '../../errors.js';
import type { Host } from '../../host.js';
import { unionProbes } from '../../behaviour/entries.js';
import { compareBehaviour, changeCount, type Tracer } from '../../behaviour/compare.js';
import { formatBehaviourJson, formatBehaviourMarkdown, formatBehaviourText } from '../../behaviour/format.js';
import type { SideInfo } from '../../behaviour/reasons.js';
import { tracerForModel, tracerForRules } from '../../behaviour/tracers.js';
import { detectRules } from '../../diff/sides.js';
import { servicePicture } from '../../graph/build.js';
import { pictureTitle, wordsContext } from '../../graph/pictures.js';
import { toMermaid } from '../../graph/render.js';
import type { ProxyModel } from '../../model/types.js';
import { loadInventory } from '../../input/load.js';
import { buildModel } from '../../model/build.js';
import { SIDES, VERSION_FLAG, compileFlagSpecs, type FlagSpec, type Side } from '../behaviour-flags.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { outputFlag, readTextFile, writeOutput } from '../io.js';
import { loadModel, previousNatChains } from '../pipeline.js';

/** The release as the options hold it (`{major, minor}` with --kube-proxy-version) as text. */
function versionText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object' && 'major' in v && 'minor' in v) return `${(v as { major: number }).major}.${(v as { minor: number }).minor}`;
  return String(v);
}

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

interface Loaded {
  info: SideInfo;
  model?: ProxyModel;
  /** Rule files get their tracer once the node's addresses are known. */
  rules?: { kind: 'iptables' | 'nftables'; text: string; nodeIPs?: string[]; family?: Family };
  tracer?: Tracer;
}

function readSide(host: Host, arg: string, side: Side, argv: Args, specs: FlagSpec[], notes: string[], texts: Map<string, string>): Loaded {
  const flags = sideFlags(argv, side, specs);
  const version = (flags as Record<string, unknown>)[VERSION_FLAG] ?? argv[`${side}-${VERSION_FLAG}`];
  let dir = false;
  try {
    dir = arg !== '-' && host.fs.statSync(arg).isDirectory();
  } catch {
    // readTextFile reports a missing file the usual way.
  }
  // Read once: stdin cannot be read twice, and a side may be compiled twice.
  const text = dir ? undefined : (texts.get(arg) ?? readTextFile(host, arg));
  if (text !== undefined) texts.set(arg, text);
  const kind = text === undefined ? undefined : detectRules(text);
  if (kind && text !== undefined) {
    const mode = flags['proxy-mode'];
    if (mode && mode !== kind)
      throw new UsageError(`${arg} holds ${kind} rules but --${argv[`${side}-proxy-mode`] ? `${side}-` : ''}proxy-mode is ${mode}`);
    const nodeIPs = flags['node-ip'] ? proxyOptions({ 'node-ip': flags['node-ip'] }, host).nodeIPs : undefined;
    const family = flags['ip-family'] as Family | undefined;
    return {
      info: {
        source: arg,
        input: kind === 'iptables' ? 'iptables-rules' : 'nftables-rules',
        proxyMode: kind,
        kubeProxyVersion: version === undefined ? null : String(version),
        family: family ?? 'ipv4',
      },
      rules: { kind, text, ...(nodeIPs ? { nodeIPs } : {}), ...(family ? { family } : {}) },
    };
  }
  const opts = proxyOptions(flags, host);
  const compiled =
    arg === '-'
      ? (() => {
          const inv = loadInventory(['-'], { readStdin: () => text ?? '', fs: host.fs });
          const n = [...inv.notes];
          return { model: buildModel(inv, opts, n), notes: n };
        })()
      : loadModel([arg], opts, host);
  notes.push(...compiled.notes);
  const model = compiled.model;
  const info: SideInfo = {
    source: arg,
    input: 'manifests',
    proxyMode: opts.proxyMode,
    kubeProxyVersion:
      versionText((opts as { kubeProxyVersion?: unknown }).kubeProxyVersion) ?? (version === undefined ? null : String(version)),
    family: model.node.family,
  };
  if (opts.nodePortAddresses !== undefined) info.nodePortAddresses = opts.nodePortAddresses;
  const prev = opts.proxyMode === 'iptables' ? previousNatChains(host, flags['previous-rules']) : undefined;
  return { info, model, tracer: tracerForModel(model, opts.proxyMode, prev) };
}

/** A side flag without --behaviour would be ignored by the rule diff: say so instead. */
export function checkSideFlags(argv: Record<string, unknown>): void {
  const given = Object.keys(argv).filter((k) => /^(old|new)-/.test(k) && argv[k] !== undefined);
  if (given.length > 0)
    throw new UsageError(`--${given[0]} sets one side of a behaviour diff: add --behaviour (the rule diff compiles both sides alike)`);
}

export function behaviourDiff(argv: Args, host: Host): number {
  for (const k of SIDES) if ((argv[k] as unknown) === '' || (argv[k] as unknown) === true) argv[k] = '-';
  if (argv.old === '-' && argv.new === '-') throw new UsageError('only one side can be read from stdin');
  if (argv.stat) throw new UsageError('--stat counts rules: it does not go with --behaviour');
  const specs = compileFlagSpecs();
  const notes: string[] = [];
  const texts = new Map<string, string>();
  const sides = [readSide(host, argv.old, 'old', argv, specs, notes, texts), readSide(host, argv.new, 'new', argv, specs, notes, texts)];
  const models = sides.flatMap((s) => (s.model ? [s.model] : []));
  if (models.length === 0) {
    throw new UsageError(
      '--behaviour needs manifests on at least one side: they say which Services and entry points to try (two rule files alone do not)',
    );
  }
  // A rule file's node listens where the manifests would in its mode (NodePort addresses are
  // per-mode defaults): the manifests compiled for that mode give its entry points.
  const manifestSide = sides.findIndex((s) => s.model);
  for (const s of sides) {
    if (!s.rules || s.rules.kind === sides[manifestSide]!.info.proxyMode) continue;
    const m = SIDES[manifestSide]!;
    models.push(
      readSide(host, sides[manifestSide]!.info.source, m, { ...argv, [`${m}-proxy-mode`]: s.rules.kind } as Args, specs, [], texts).model!,
    );
  }
  for (const s of sides) {
    if (!s.rules) continue;
    // A rule file is a node's: its addresses come from --node-ip, else from the manifests' node.
    const nodeIPs = s.rules.nodeIPs ?? models[0]!.node.nodeIPs;
    const t = tracerForRules(s.rules.kind, s.rules.text, nodeIPs, s.rules.family ?? models[0]!.node.family);
    s.tracer = t;
    s.info.family = t.family;
  }
  const fams = new Set(sides.map((s) => s.info.family));
  if (fams.size > 1)
    throw new UsageError(
      `${argv.old} is ${sides[0]!.info.family} and ${argv.new} ${sides[1]!.info.family}: compare one IP family (use --ip-family)`,
    );
  const { probes, notes: probeNotes } = unionProbes(models);
  const result = compareBehaviour(
    probes,
    { old: sides[0]!.tracer!, new: sides[1]!.tracer! },
    { old: sides[0]!.info, new: sides[1]!.info },
    probeNotes,
  );
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
              old: toMermaid(servicePicture(title, these, sides[0]!.tracer!, ctx)),
              new: toMermaid(servicePicture(title, these, sides[1]!.tracer!, ctx)),
            };
          })
        : formatBehaviourText(result);
  writeOutput(host, text, outputFlag(argv.output));
  return argv['exit-code'] && changeCount(result) > 0 ? EXIT.differences : EXIT.ok;
}
