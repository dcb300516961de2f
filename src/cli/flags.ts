// The compile flags, by kube-proxy's own names, shared by every command that compiles.
import { UsageError } from '../errors.js';
import { dns1123Subdomain, interfaceName } from '../input/rules.js';
import { DEFAULT_OPTIONS, type DetectLocalMode, type ProxyOptions } from '../model/options.js';
import { canonicalIP, parseCIDR } from '../util/ip.js';
import { readProxyConfig } from './config.js';
import type { CompileFlags } from './flag-defs.js';
import { nodeHost, type Host } from '../host.js';

export { withCompileFlags, type CompileFlags } from './flag-defs.js';

// Repeatable flags are plain strings (repeated, they become an array): an array option would
// swallow the manifest paths that follow it on the command line.
const split = (values: string | string[] | undefined) => (values === undefined ? [] : Array.isArray(values) ? values : [values]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);

function checkCIDRs(flag: string, values: string[], allowPrimary = false): string[] {
  for (const v of values) {
    if (allowPrimary && v === 'primary') continue;
    if (!parseCIDR(v)) throw new UsageError(`--${flag}: ${JSON.stringify(v)} is not a CIDR`);
  }
  return values;
}

/** Flags (over --config, over kube-proxy's defaults) → validated options. */
export function proxyOptions(f: CompileFlags, host: Host = nodeHost()): ProxyOptions {
  const fromConfig = f.config ? readProxyConfig(host, f.config) : {};
  const o: ProxyOptions = { ...DEFAULT_OPTIONS, ...fromConfig, hostname: host.hostname() };
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
      if (k !== 'PreferSameTrafficDistribution') continue; // other gates do not change the rules
      if (v !== 'true' && v !== 'false') throw new UsageError(`--feature-gates: ${pair} must be NAME=true|false`);
      o.preferSameTrafficDistribution = v === 'true';
    }
  }
  return o;
}
