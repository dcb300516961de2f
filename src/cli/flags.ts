// The compile flags, by kube-proxy's own names, shared by every command that compiles.
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { dns1123Subdomain } from '../input/rules.js';
import { interfaceNameProblem } from '../input/ifname.js';
import { DEFAULT_OPTIONS, type DetectLocalMode, type ProxyOptions } from '../model/options.js';
import { canonicalIP, parseCIDR } from '../util/ip.js';
import { readProxyConfig } from './config.js';
import { echo, parseFeatureGates } from './flag-values.js';

export interface CompileFlags {
  config?: string;
  'proxy-mode'?: string;
  'ip-family'?: string;
  'hostname-override'?: string;
  'node-ip'?: string | string[];
  'cluster-cidr'?: string | string[];
  'detect-local-mode'?: string;
  'pod-bridge-interface'?: string;
  'pod-interface-name-prefix'?: string;
  'masquerade-all'?: boolean;
  'iptables-masquerade-bit'?: string;
  'masquerade-mark'?: string;
  'nodeport-addresses'?: string | string[];
  'iptables-localhost-nodeports'?: boolean;
  nfacct?: boolean;
  'iptables-random-fully'?: boolean;
  'conntrack-tcp-be-liberal'?: boolean;
  'service-cluster-ip-range'?: string | string[];
  'feature-gates'?: string;
  'previous-rules'?: string;
  'allow-empty'?: boolean;
}

/**
 * Every boolean flag of every command, read with kube-proxy's ParseBool before yargs sees them
 * (flag-values.ts): a new boolean flag belongs here too.
 */
export const BOOLEAN_FLAGS = [
  'masquerade-all', 'iptables-localhost-nodeports', 'nfacct', 'iptables-random-fully', 'conntrack-tcp-be-liberal', 'allow-empty',
  'all', 'dry-run', 'exit-code', 'json', 'keep', 'stat', 'verbose',
] as const;

const GROUP = 'Node context (kube-proxy flags):';

export function withCompileFlags<T>(y: Argv<T>): Argv<T & CompileFlags> {
  return y
    .option('config', { type: 'string', group: GROUP, describe: 'KubeProxyConfiguration file; flags override it' })
    .option('proxy-mode', { type: 'string', group: GROUP, choices: ['iptables', 'nftables'], describe: 'Backend (default iptables)' })
    .option('ip-family', { type: 'string', group: GROUP, choices: ['ipv4', 'ipv6'], describe: "Which family's proxier (default ipv4)" })
    .option('hostname-override', { type: 'string', group: GROUP, describe: "This node's name (matches EndpointSlice nodeName)" })
    .option('node-ip', { type: 'string', group: GROUP, describe: 'A local address of the node; repeat, primary first' })
    .option('cluster-cidr', { type: 'string', group: GROUP, describe: 'Pod CIDR for ClusterCIDR local detection; repeatable or comma-separated' })
    .option('detect-local-mode', { type: 'string', group: GROUP, choices: ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix', 'None'] })
    .option('pod-bridge-interface', { type: 'string', group: GROUP })
    .option('pod-interface-name-prefix', { type: 'string', group: GROUP })
    .option('masquerade-all', { type: 'boolean', group: GROUP, describe: 'SNAT all traffic sent to cluster IPs' })
    .option('iptables-masquerade-bit', { type: 'string', group: GROUP, describe: 'fwmark bit for masquerading (default 14)' })
    .option('masquerade-mark', { type: 'string', group: GROUP, describe: 'Literal mark string, overriding the bit (tests use 0x4000)' })
    .option('nodeport-addresses', { type: 'string', group: GROUP, describe: "CIDRs NodePorts listen on, or 'primary'" })
    .option('iptables-localhost-nodeports', { type: 'boolean', group: GROUP, describe: 'NodePorts on 127.0.0.0/8 (default true)' })
    .option('nfacct', { type: 'boolean', group: GROUP, describe: 'Emit nfacct counter matches (default true)' })
    .option('iptables-random-fully', { type: 'boolean', group: GROUP, describe: 'MASQUERADE --random-fully (default true)' })
    .option('conntrack-tcp-be-liberal', { type: 'boolean', group: GROUP, describe: 'nf_conntrack_tcp_be_liberal is set: no INVALID drop (default false)' })
    .option('service-cluster-ip-range', { type: 'string', group: GROUP, describe: 'Service CIDRs (nftables cluster-ips-check)' })
    .option('feature-gates', { type: 'string', group: GROUP, describe: 'e.g. PreferSameTrafficDistribution=false' })
    .option('previous-rules', { type: 'string', group: GROUP, describe: "The node's current iptables-save: stale service chains are deleted" })
    .option('allow-empty', { type: 'boolean', group: GROUP, describe: 'Accept an input without Kubernetes objects (an empty cluster); otherwise exit 2' }) as Argv<T & CompileFlags>;
}

// Repeatable flags are plain strings (repeated, they become an array): an array option would
// swallow the manifest paths that follow it on the command line.
const split = (values: string | string[] | undefined) => (values === undefined ? [] : Array.isArray(values) ? values : [values]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);

function checkCIDRs(flag: string, values: string[], allowPrimary = false): string[] {
  for (const v of values) {
    if (allowPrimary && v === 'primary') continue;
    if (!parseCIDR(v)) throw new UsageError(`--${flag}: ${echo(v)} is not a CIDR`);
  }
  return values;
}

/** Flags (over --config, over kube-proxy's defaults) → validated options. */
export function proxyOptions(f: CompileFlags): ProxyOptions {
  const fromConfig = f.config ? readProxyConfig(f.config) : {};
  const o: ProxyOptions = { ...DEFAULT_OPTIONS, ...fromConfig };
  if (f['proxy-mode']) o.proxyMode = f['proxy-mode'] as ProxyOptions['proxyMode'];
  if (f['ip-family']) o.ipFamily = f['ip-family'] as ProxyOptions['ipFamily'];
  if (f['hostname-override'] !== undefined) {
    const name = f['hostname-override'].trim().toLowerCase();
    if (!dns1123Subdomain.safeParse(name).success) throw new UsageError(`--hostname-override: ${echo(f['hostname-override'])} is not a valid node name`);
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
  for (const [flag, key] of [['pod-bridge-interface', 'podBridgeInterface'], ['pod-interface-name-prefix', 'podInterfaceNamePrefix']] as const) {
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
    if (bit === undefined || bit < 0 || bit > 31) throw new UsageError(`--iptables-masquerade-bit: ${echo(f['iptables-masquerade-bit'])} must be an integer from 0 to 31`);
    o.masqueradeBit = bit;
  }
  if (f['masquerade-mark'] !== undefined) {
    if (!/^0x[0-9a-fA-F]{1,8}$/.test(f['masquerade-mark'])) throw new UsageError(`--masquerade-mark: ${echo(f['masquerade-mark'])} must be a hex mark such as 0x4000`);
    o.masqueradeMark = f['masquerade-mark'];
  }
  if (f['nodeport-addresses']) o.nodePortAddresses = checkCIDRs('nodeport-addresses', split(f['nodeport-addresses']), true);
  if (f['iptables-localhost-nodeports'] !== undefined) o.localhostNodePorts = f['iptables-localhost-nodeports'];
  if (f.nfacct !== undefined) o.nfacct = f.nfacct;
  if (f['iptables-random-fully'] !== undefined) o.randomFully = f['iptables-random-fully'];
  if (f['conntrack-tcp-be-liberal'] !== undefined) o.conntrackTcpBeLiberal = f['conntrack-tcp-be-liberal'];
  if (f['service-cluster-ip-range']) o.serviceClusterIPRanges = checkCIDRs('service-cluster-ip-range', split(f['service-cluster-ip-range']));
  if (f['feature-gates'] !== undefined) {
    const notes: string[] = [];
    const gates = parseFeatureGates(String(f['feature-gates']), '--feature-gates', notes);
    const same = gates.get('PreferSameTrafficDistribution');
    if (same !== undefined) o.preferSameTrafficDistribution = same;
    o.notes = [...(o.notes ?? []), ...notes];
  }
  if (f['allow-empty'] !== undefined) o.allowEmpty = f['allow-empty'];
  return o;
}

/** Go's strconv.ParseInt(s, 0, 32), as pflag reads an int32 flag: 0x hex, 0o/0 octal, 0b binary. */
function parseGoInt(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/.exec(text);
  if (!m) return undefined;
  const body = m[2]!;
  const lower = body.toLowerCase();
  const n = lower.startsWith('0x') ? parseInt(lower.slice(2), 16)
    : lower.startsWith('0b') ? parseInt(lower.slice(2), 2)
    : lower.startsWith('0o') ? parseInt(lower.slice(2), 8)
    : lower.length > 1 && lower.startsWith('0') ? parseInt(lower.slice(1), 8)
    : parseInt(lower, 10);
  const v = m[1] === '-' ? -n : n;
  return v >= -(2 ** 31) && v < 2 ** 31 ? v : undefined;
}
