// The compile flags, by kube-proxy's own names, shared by every command that compiles.
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { dns1123Subdomain, interfaceName } from '../input/rules.js';
import { DEFAULT_OPTIONS, type DetectLocalMode, type ProxyOptions } from '../model/options.js';
import { canonicalIP, parseCIDR } from '../util/ip.js';
import { parseKubeProxyVersion, supportedRange } from '../kubeproxy/releases.js';
import { readProxyConfig } from './config.js';

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
  'iptables-masquerade-bit'?: number;
  'masquerade-mark'?: string;
  'nodeport-addresses'?: string | string[];
  'iptables-localhost-nodeports'?: boolean;
  nfacct?: boolean;
  'iptables-random-fully'?: boolean;
  'conntrack-tcp-be-liberal'?: boolean;
  'service-cluster-ip-range'?: string | string[];
  'feature-gates'?: string;
  'previous-rules'?: string;
  'kube-proxy-version'?: string;
}

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
    .option('iptables-masquerade-bit', { type: 'number', group: GROUP, describe: 'fwmark bit for masquerading (default 14)' })
    .option('masquerade-mark', { type: 'string', group: GROUP, describe: 'Literal mark string, overriding the bit (tests use 0x4000)' })
    .option('nodeport-addresses', { type: 'string', group: GROUP, describe: "CIDRs NodePorts listen on; 'primary' (1.37+: also 'localhost', 'all')" })
    .option('iptables-localhost-nodeports', { type: 'boolean', group: GROUP, describe: 'NodePorts on 127.0.0.0/8 (default true)' })
    .option('nfacct', { type: 'boolean', group: GROUP, describe: 'Emit nfacct counter matches (default true)' })
    .option('iptables-random-fully', { type: 'boolean', group: GROUP, describe: 'MASQUERADE --random-fully (default true)' })
    .option('conntrack-tcp-be-liberal', { type: 'boolean', group: GROUP, describe: 'nf_conntrack_tcp_be_liberal is set: no INVALID drop (default false)' })
    .option('service-cluster-ip-range', { type: 'string', group: GROUP, describe: 'Service CIDRs (nftables cluster-ips-check)' })
    .option('feature-gates', { type: 'string', group: GROUP, describe: 'e.g. PreferSameTrafficDistribution=false' })
    .option('kube-proxy-version', {
      type: 'string',
      group: GROUP,
      describe: `kube-proxy release whose rules to write, e.g. 1.36 or v1.36.2 (iptables ${supportedRange('iptables')}, nftables ${supportedRange('nftables')}; default: the Node's kubelet version, else 1.37)`,
    })
    .option('previous-rules', { type: 'string', group: GROUP, describe: "The node's current iptables-save: stale service chains are deleted" }) as Argv<T & CompileFlags>;
}

// Repeatable flags are plain strings (repeated, they become an array): an array option would
// swallow the manifest paths that follow it on the command line.
const split = (values: string | string[] | undefined) => (values === undefined ? [] : Array.isArray(values) ? values : [values]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);

const NODEPORT_KEYWORDS = ['primary', 'localhost', 'all'];

function checkCIDRs(flag: string, values: string[], allowKeywords = false): string[] {
  for (const v of values) {
    if (allowKeywords && NODEPORT_KEYWORDS.includes(v)) continue;
    if (!parseCIDR(v)) throw new UsageError(`--${flag}: ${JSON.stringify(v)} is not a CIDR`);
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
    if (!dns1123Subdomain.safeParse(name).success) throw new UsageError(`--hostname-override: ${JSON.stringify(f['hostname-override'])} is not a valid node name`);
    o.hostnameOverride = name;
  }
  if (f['node-ip']) {
    o.nodeIPs = split(f['node-ip']).map((ip) => {
      const c = canonicalIP(ip);
      if (!c) throw new UsageError(`--node-ip: ${JSON.stringify(ip)} is not an IP address`);
      return c;
    });
  }
  if (f['cluster-cidr']) o.clusterCIDRs = checkCIDRs('cluster-cidr', split(f['cluster-cidr']));
  if (f['detect-local-mode']) o.detectLocalMode = f['detect-local-mode'] as DetectLocalMode;
  for (const [flag, key] of [['pod-bridge-interface', 'podBridgeInterface'], ['pod-interface-name-prefix', 'podInterfaceNamePrefix']] as const) {
    const v = f[flag];
    if (v === undefined) continue;
    // An interface name ends up in rule text unquoted.
    if (!interfaceName.safeParse(v).success) throw new UsageError(`--${flag}: ${JSON.stringify(v)} is not a valid interface name`);
    o[key] = v;
  }
  if (f['masquerade-all'] !== undefined) o.masqueradeAll = f['masquerade-all'];
  if (f['iptables-masquerade-bit'] !== undefined) {
    const bit = f['iptables-masquerade-bit'];
    if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new UsageError('--iptables-masquerade-bit must be an integer from 0 to 31');
    o.masqueradeBit = bit;
  }
  if (f['masquerade-mark'] !== undefined) {
    if (!/^0x[0-9a-fA-F]{1,8}$/.test(f['masquerade-mark'])) throw new UsageError('--masquerade-mark must be a hex mark such as 0x4000');
    o.masqueradeMark = f['masquerade-mark'];
  }
  if (f['nodeport-addresses']) o.nodePortAddresses = checkCIDRs('nodeport-addresses', split(f['nodeport-addresses']), true);
  if (f['iptables-localhost-nodeports'] !== undefined) o.localhostNodePorts = f['iptables-localhost-nodeports'];
  if (f.nfacct !== undefined) o.nfacct = f.nfacct;
  if (f['iptables-random-fully'] !== undefined) o.randomFully = f['iptables-random-fully'];
  if (f['conntrack-tcp-be-liberal'] !== undefined) o.conntrackTcpBeLiberal = f['conntrack-tcp-be-liberal'];
  if (f['service-cluster-ip-range']) o.serviceClusterIPRanges = checkCIDRs('service-cluster-ip-range', split(f['service-cluster-ip-range']));
  if (f['feature-gates']) {
    for (const pair of f['feature-gates'].split(',')) {
      const [k, v] = pair.split('=').map((s) => s.trim());
      if (k !== 'PreferSameTrafficDistribution' && k !== 'KubeProxyNFTablesLocalhostNodePorts') continue; // other gates do not change the rules
      if (v !== 'true' && v !== 'false') throw new UsageError(`--feature-gates: ${pair} must be NAME=true|false`);
      if (k === 'KubeProxyNFTablesLocalhostNodePorts') o.localhostNodePortsGate = v === 'true';
      else o.preferSameTrafficDistribution = v === 'true';
    }
  }
  if (f['kube-proxy-version'] !== undefined) {
    const v = parseKubeProxyVersion(String(f['kube-proxy-version']));
    if (!v) throw new UsageError(`--kube-proxy-version: ${JSON.stringify(f['kube-proxy-version'])} is not a version such as 1.37 or v1.36.2`);
    o.kubeProxyVersion = v;
  }
  return o;
}
