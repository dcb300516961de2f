// The compile flags, by kube-proxy's own names, shared by every command that compiles.
import { UsageError } from '../errors.js';
import { isDns1123Subdomain } from '../input/patterns.js';
import { interfaceNameProblem } from '../input/ifname.js';
import { DEFAULT_OPTIONS, type DetectLocalMode, type ProxyOptions } from '../model/options.js';
import { canonicalIP, parseCIDR } from '../util/ip.js';
import { parseKubeProxyVersion } from '../kubeproxy/releases.js';
import { readProxyConfig } from './config.js';
import { echo, parseFeatureGates } from './flag-values.js';
import type { CompileFlags } from './flag-defs.js';
import { nodeHost, type Host } from '../host.js';

export { withCompileFlags, type CompileFlags } from './flag-defs.js';

// Repeatable flags are plain strings (repeated, they become an array): an array option would
// swallow the manifest paths that follow it on the command line.
const split = (values: string | string[] | undefined) =>
  (values === undefined ? [] : Array.isArray(values) ? values : [values])
    .flatMap((v) => String(v).split(','))
    .map((s) => s.trim())
    .filter(Boolean);

const NODEPORT_KEYWORDS = ['primary', 'localhost', 'all'];

function checkCIDRs(flag: string, values: string[], allowKeywords = false): string[] {
  for (const v of values) {
    if (allowKeywords && NODEPORT_KEYWORDS.includes(v)) continue;
    if (!parseCIDR(v)) throw new UsageError(`--${flag}: ${echo(v)} is not a CIDR`);
  }
  return values;
}

/** Flags (over --config, over kube-proxy's defaults) → validated options. */
/** The flags that may be given more than once and add up (the others: the last one wins, as with pflag). */
const REPEATABLE = new Set(['node-ip', 'cluster-cidr', 'nodeport-addresses', 'service-cluster-ip-range']);

/** A single-valued flag given twice comes from yargs as an array: keep the last, as kube-proxy's flag library does. */
function lastWins(flags: CompileFlags): CompileFlags {
  const out: Record<string, unknown> = { ...flags };
  for (const [k, v] of Object.entries(out)) if (Array.isArray(v) && !REPEATABLE.has(k)) out[k] = v[v.length - 1];
  return out as CompileFlags;
}

export function proxyOptions(given: CompileFlags, host: Host = nodeHost()): ProxyOptions {
  const f = lastWins(given);
  const fromConfig = f.config ? readProxyConfig(host, f.config) : {};
  const o: ProxyOptions = { ...DEFAULT_OPTIONS, ...fromConfig, hostname: host.hostname() };
  if (f['proxy-mode']) o.proxyMode = f['proxy-mode'] as ProxyOptions['proxyMode'];
  if (f['ip-family']) o.ipFamily = f['ip-family'] as ProxyOptions['ipFamily'];
  if (f['hostname-override'] !== undefined) {
    const name = f['hostname-override'].trim().toLowerCase();
    if (!isDns1123Subdomain(name)) throw new UsageError(`--hostname-override: ${echo(f['hostname-override'])} is not a valid node name`);
    o.hostnameOverride = name;
  }
  if (f['node-ip']) {
    o.nodeIPs = split(f['node-ip']).map((ip) => {
      const c = canonicalIP(ip);
      if (!c) throw new UsageError(`--node-ip: ${echo(ip)} is not an IP address`);
      return c;
    });
  }
  if (f['cluster-cidr']) o.clusterCIDRs = checkCIDRs('cluster-cidr', split(f['cluster-cidr']));
  if (f['detect-local-mode']) o.detectLocalMode = f['detect-local-mode'] as DetectLocalMode;
  for (const [flag, key] of [
    ['pod-bridge-interface', 'podBridgeInterface'],
    ['pod-interface-name-prefix', 'podInterfaceNamePrefix'],
  ] as const) {
    const v = f[flag];
    if (v === undefined) continue;
    // An interface name ends up in rule text: the kernel's rules, nothing that is rule syntax.
    const why = interfaceNameProblem(v);
    if (why) throw new UsageError(`--${flag}: ${echo(v)} is not a valid interface name: ${why}`);
    o[key] = v;
  }
  if (f['masquerade-all'] !== undefined) o.masqueradeAll = f['masquerade-all'];
  if (f['iptables-masquerade-bit'] !== undefined) {
    const bit = parseGoInt(String(f['iptables-masquerade-bit']));
    if (bit === undefined || bit < 0 || bit > 31)
      throw new UsageError(`--iptables-masquerade-bit: ${echo(f['iptables-masquerade-bit'])} must be an integer from 0 to 31`);
    o.masqueradeBit = bit;
  }
  if (f['masquerade-mark'] !== undefined) {
    if (!/^0x[0-9a-fA-F]{1,8}$/.test(f['masquerade-mark']))
      throw new UsageError(`--masquerade-mark: ${echo(f['masquerade-mark'])} must be a hex mark such as 0x4000`);
    o.masqueradeMark = f['masquerade-mark'];
  }
  if (f['nodeport-addresses']) o.nodePortAddresses = checkCIDRs('nodeport-addresses', split(f['nodeport-addresses']), true);
  if (f['iptables-localhost-nodeports'] !== undefined) o.localhostNodePorts = f['iptables-localhost-nodeports'];
  if (f.nfacct !== undefined) o.nfacct = f.nfacct;
  if (f['iptables-random-fully'] !== undefined) o.randomFully = f['iptables-random-fully'];
  if (f['conntrack-tcp-be-liberal'] !== undefined) o.conntrackTcpBeLiberal = f['conntrack-tcp-be-liberal'];
  if (f['service-cluster-ip-range'])
    o.serviceClusterIPRanges = checkCIDRs('service-cluster-ip-range', split(f['service-cluster-ip-range']));
  if (f['feature-gates'] !== undefined) {
    const notes: string[] = [];
    const gates = parseFeatureGates(String(f['feature-gates']), '--feature-gates', notes);
    const same = gates.get('PreferSameTrafficDistribution');
    if (same !== undefined) o.preferSameTrafficDistribution = same;
    const localhostNodePorts = gates.get('KubeProxyNFTablesLocalhostNodePorts');
    if (localhostNodePorts !== undefined) o.localhostNodePortsGate = localhostNodePorts;
    o.notes = [...(o.notes ?? []), ...notes];
  }
  if (f['allow-empty'] !== undefined) o.allowEmpty = f['allow-empty'];
  if (f['kube-proxy-version'] !== undefined) {
    const v = parseKubeProxyVersion(String(f['kube-proxy-version']));
    if (!v) throw new UsageError(`--kube-proxy-version: ${echo(String(f['kube-proxy-version']))} is not a version such as 1.37 or v1.36.2`);
    o.kubeProxyVersion = v;
  }
  return o;
}

/** Go's strconv.ParseInt(s, 0, 32), as pflag reads an int32 flag: 0x hex, 0o/0 octal, 0b binary. */
function parseGoInt(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/.exec(text);
  if (!m) return undefined;
  const body = m[2]!;
  const lower = body.toLowerCase();
  const n = lower.startsWith('0x')
    ? parseInt(lower.slice(2), 16)
    : lower.startsWith('0b')
      ? parseInt(lower.slice(2), 2)
      : lower.startsWith('0o')
        ? parseInt(lower.slice(2), 8)
        : lower.length > 1 && lower.startsWith('0')
          ? parseInt(lower.slice(1), 8)
          : parseInt(lower, 10);
  const v = m[1] === '-' ? -n : n;
  return v >= -(2 ** 31) && v < 2 ** 31 ? v : undefined;
}
