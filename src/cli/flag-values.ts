// Flag values read as kube-proxy's flag library (pflag, strconv) and its feature-gate parser
// (k8s.io/component-base/featuregate) read them, so a value kube-proxy would refuse is refused
// here too instead of silently meaning something else.
import { UsageError } from '../errors.js';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
const BOOL_SPELLINGS = '1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False';

/** Go's strconv.ParseBool; undefined for anything else. */
function parseBool(text: string): boolean | undefined {
  return TRUE.has(text) ? true : FALSE.has(text) ? false : undefined;
}

/** A value echoed in a message: JSON-quoted, so control characters and quotes show escaped. */
export function echo(value: unknown): string {
  const s = JSON.stringify(String(value));
  return s.length > 80 ? `${s.slice(0, 76)}..."` : s;
}

/**
 * yargs reads `--flag=VALUE` of a boolean flag as false for every VALUE but "true", losing the
 * text. So boolean flags written with '=' are read here, before yargs: a ParseBool spelling
 * becomes `--flag` / `--no-flag`, anything else is a usage error naming the value. `--flag`
 * alone still means true and `--no-flag` false.
 */
export function readBooleanFlags(argv: string[], booleanFlags: readonly string[]): string[] {
  const out: string[] = [];
  let rest = false;
  for (const arg of argv) {
    if (rest || arg === '--') {
      rest = true;
      out.push(arg);
      continue;
    }
    const m = /^--([^=]+)=([\s\S]*)$/.exec(arg);
    if (!m || !booleanFlags.includes(m[1]!)) {
      out.push(arg);
      continue;
    }
    const value = parseBool(m[2]!);
    if (value === undefined) throw new UsageError(`--${m[1]}: invalid boolean value ${echo(m[2])} (expected one of ${BOOL_SPELLINGS})`);
    out.push(value ? `--${m[1]}` : `--no-${m[1]}`);
  }
  return out;
}

/**
 * Feature gates kube-proxy knows, with whether ktables models them. One list: kube-proxy
 * refuses a name it does not know, and so does ktables; a known gate ktables does not model is
 * accepted with a note (it does not change the rules ktables writes).
 */
const FEATURE_GATES: Readonly<Record<string, { modelled: boolean }>> = {
  AllAlpha: { modelled: false },
  AllBeta: { modelled: false },
  PreferSameTrafficDistribution: { modelled: true },
  KubeProxyNFTablesLocalhostNodePorts: { modelled: true },
  ServiceTrafficDistribution: { modelled: false },
  TopologyAwareHints: { modelled: false },
  NFTablesProxyMode: { modelled: false },
  LoadBalancerIPMode: { modelled: false },
  MultiCIDRServiceAllocator: { modelled: false },
  WindowsHostNetwork: { modelled: false },
  WinDSR: { modelled: false },
  WinOverlay: { modelled: false },
  ComponentFlagz: { modelled: false },
  ComponentStatusz: { modelled: false },
  ContextualLogging: { modelled: false },
  LoggingAlphaOptions: { modelled: false },
  LoggingBetaOptions: { modelled: false },
  KubeProxyDrainingTerminatingNodes: { modelled: false },
};

/**
 * Parses `--feature-gates` as kube-proxy does: comma-separated NAME=BOOL, spaces trimmed,
 * empty items ignored, an unknown name or a bad value refused. Returns the gates set; NOTES
 * gets a line for each known gate ktables does not model.
 */
export function parseFeatureGates(text: string, source: string, notes: string[]): Map<string, boolean> {
  const gates = new Map<string, boolean>();
  for (const item of text.split(',')) {
    const s = item.trim();
    if (s === '') continue;
    const eq = s.indexOf('=');
    if (eq < 0) throw new UsageError(`${source}: missing bool value for ${echo(s)}`);
    const name = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1).trim();
    gates.set(name, checkGate(name, raw, source, notes));
  }
  return gates;
}

/** One gate (from the flag or the config's featureGates map): known name, ParseBool value. */
export function checkGate(name: string, raw: unknown, source: string, notes: string[]): boolean {
  const gate = Object.hasOwn(FEATURE_GATES, name) ? FEATURE_GATES[name] : undefined;
  if (!gate) throw new UsageError(`${source}: unrecognized feature gate ${echo(name)}`);
  const value = typeof raw === 'boolean' ? raw : parseBool(String(raw));
  if (value === undefined) throw new UsageError(`${source}: invalid value of ${name}=${echo(raw)} (expected one of ${BOOL_SPELLINGS})`);
  if (!gate.modelled) notes.push(`feature gate ${name}=${value} does not change the rules ktables writes; accepted`);
  return value;
}
