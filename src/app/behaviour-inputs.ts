// `ktables diff --behaviour OLD NEW`: each side a rule file or manifests (compiled with its own
// options), each turned into a tracer; the manifests say which packets to try.
import type { Family } from '../util/ip.js';
import { UsageError } from '../errors.js';
import type { Host } from '../host.js';
import { unionProbes, type Probe } from '../behaviour/entries.js';
import { compareBehaviour, type BehaviourDiff, type Tracer } from '../behaviour/compare.js';
import type { SideInfo } from '../behaviour/reasons.js';
import { tracerForModel, tracerForRules } from '../behaviour/tracers.js';
import type { ProxyOptions } from '../model/options.js';
import type { ProxyModel } from '../model/types.js';
import { rulesKind } from '../parse/read.js';
import { loadModel, previousNatChains } from './compile-rules.js';
import { readTextFile } from './read-file.js';

/** One side as its flags set it (the shared compile flags, each overridden by --old-X / --new-X). */
export interface BehaviourSide {
  arg: string;
  /** Its --proxy-mode, and the flag that set it (for the message when a rule file disagrees). */
  proxyMode?: string | undefined;
  proxyModeFlag: string;
  /** Its --node-ip as addresses, --ip-family and --kube-proxy-version, if given. */
  nodeIPs?: string[] | undefined;
  family?: Family | undefined;
  version?: string | undefined;
  previousRules?: string | undefined;
  /** Its compile options; MODE overrides its proxy mode (entry points as a node in that mode has them). */
  options(mode?: 'iptables' | 'nftables'): ProxyOptions;
}

export interface BehaviourCompared {
  result: BehaviourDiff;
  probes: Probe[];
  /** The manifests' models (the first gives the words of the pictures). */
  models: ProxyModel[];
  tracers: [Tracer, Tracer];
  /** What compiling noted (shown with --verbose). */
  notes: string[];
}

interface Loaded {
  info: SideInfo;
  model?: ProxyModel;
  /** Rule files get their tracer once the node's addresses are known. */
  rules?: { kind: 'iptables' | 'nftables'; text: string; nodeIPs?: string[]; family?: Family };
  tracer?: Tracer;
}

/** The release as the options hold it (`{major, minor}` with --kube-proxy-version) as text. */
function versionText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object' && 'major' in v && 'minor' in v) return `${(v as { major: number }).major}.${(v as { minor: number }).minor}`;
  return String(v);
}

function readSide(host: Host, s: BehaviourSide, notes: string[], texts: Map<string, string>, mode?: 'iptables' | 'nftables'): Loaded {
  const arg = s.arg;
  let dir = false;
  try {
    dir = arg !== '-' && host.fs.statSync(arg).isDirectory();
  } catch {
    // readTextFile reports a missing file the usual way.
  }
  // Read once: stdin cannot be read twice, and a side may be compiled twice.
  const text = dir ? undefined : (texts.get(arg) ?? readTextFile(host, arg));
  if (text !== undefined) texts.set(arg, text);
  const kind = text === undefined ? 'manifests' : rulesKind(text);
  if (kind !== 'manifests' && text !== undefined) {
    if (s.proxyMode && s.proxyMode !== kind) throw new UsageError(`${arg} holds ${kind} rules but --${s.proxyModeFlag} is ${s.proxyMode}`);
    return {
      info: {
        source: arg,
        input: kind === 'iptables' ? 'iptables-rules' : 'nftables-rules',
        proxyMode: kind,
        kubeProxyVersion: s.version ?? null,
        family: s.family ?? 'ipv4',
      },
      rules: { kind, text, ...(s.nodeIPs ? { nodeIPs: s.nodeIPs } : {}), ...(s.family ? { family: s.family } : {}) },
    };
  }
  const opts = s.options(mode);
  const compiled = loadModel([arg], opts, host, arg === '-' ? (text ?? '') : undefined);
  notes.push(...compiled.notes);
  const model = compiled.model;
  const info: SideInfo = {
    source: arg,
    input: 'manifests',
    proxyMode: opts.proxyMode,
    kubeProxyVersion: versionText((opts as { kubeProxyVersion?: unknown }).kubeProxyVersion) ?? s.version ?? null,
    family: model.node.family,
  };
  if (opts.nodePortAddresses !== undefined) info.nodePortAddresses = opts.nodePortAddresses;
  const prev = opts.proxyMode === 'iptables' ? previousNatChains(host, s.previousRules) : undefined;
  return { info, model, tracer: tracerForModel(model, opts.proxyMode, prev) };
}

export function behaviourInputs(host: Host, given: readonly [BehaviourSide, BehaviourSide]): BehaviourCompared {
  const notes: string[] = [];
  const texts = new Map<string, string>();
  const sides = given.map((s) => readSide(host, s, notes, texts));
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
    models.push(readSide(host, given[manifestSide]!, [], texts, s.rules.kind).model!);
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
      `${given[0].arg} is ${sides[0]!.info.family} and ${given[1].arg} ${sides[1]!.info.family}: compare one IP family (use --ip-family)`,
    );
  const { probes, notes: probeNotes } = unionProbes(models);
  const tracers: [Tracer, Tracer] = [sides[0]!.tracer!, sides[1]!.tracer!];
  const result = compareBehaviour(probes, { old: tracers[0], new: tracers[1] }, { old: sides[0]!.info, new: sides[1]!.info }, probeNotes);
  return { result, probes, models, tracers, notes };
}
