// The compile flags' definitions, by kube-proxy's own names, shared by every command that
// compiles. Only yargs option specs: loaded on every start (for --help and strict parsing), so it
// must not pull in the validators; flags.ts turns the values into options.
import type { Argv } from 'yargs';
import { supportedRange } from '../kubeproxy/releases.js';

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
  'kube-proxy-version'?: string;
  'allow-empty'?: boolean;
}

/**
 * Every boolean flag of every command, read with kube-proxy's ParseBool before yargs sees them
 * (flag-values.ts): a new boolean flag belongs here too.
 */
export const BOOLEAN_FLAGS = [
  'masquerade-all',
  'iptables-localhost-nodeports',
  'nfacct',
  'iptables-random-fully',
  'conntrack-tcp-be-liberal',
  'allow-empty',
  'all',
  'behaviour',
  'dry-run',
  'exit-code',
  'json',
  'keep',
  'stat',
  'verbose',
] as const;

const GROUP = 'Node context (kube-proxy flags):';

export function withCompileFlags<T>(y: Argv<T>): Argv<T & CompileFlags> {
  return y
    .option('config', { type: 'string', group: GROUP, describe: 'KubeProxyConfiguration file; flags override it' })
    .option('proxy-mode', { type: 'string', group: GROUP, choices: ['iptables', 'nftables'], describe: 'Backend (default iptables)' })
    .option('ip-family', { type: 'string', group: GROUP, choices: ['ipv4', 'ipv6'], describe: "Which family's proxier (default ipv4)" })
    .option('hostname-override', { type: 'string', group: GROUP, describe: "This node's name (matches EndpointSlice nodeName)" })
    .option('node-ip', { type: 'string', group: GROUP, describe: 'A local address of the node; repeat, primary first' })
    .option('cluster-cidr', {
      type: 'string',
      group: GROUP,
      describe: 'Pod CIDR for ClusterCIDR local detection; repeatable or comma-separated',
    })
    .option('detect-local-mode', {
      type: 'string',
      group: GROUP,
      choices: ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix', 'None'],
    })
    .option('pod-bridge-interface', { type: 'string', group: GROUP })
    .option('pod-interface-name-prefix', { type: 'string', group: GROUP })
    .option('masquerade-all', { type: 'boolean', group: GROUP, describe: 'SNAT all traffic sent to cluster IPs' })
    .option('iptables-masquerade-bit', { type: 'string', group: GROUP, describe: 'fwmark bit for masquerading (default 14)' })
    .option('masquerade-mark', { type: 'string', group: GROUP, describe: 'Literal mark string, overriding the bit (tests use 0x4000)' })
    .option('nodeport-addresses', {
      type: 'string',
      group: GROUP,
      describe: "CIDRs NodePorts listen on; 'primary' (1.37+: also 'localhost', 'all')",
    })
    .option('iptables-localhost-nodeports', { type: 'boolean', group: GROUP, describe: 'NodePorts on 127.0.0.0/8 (default true)' })
    .option('nfacct', { type: 'boolean', group: GROUP, describe: 'Emit nfacct counter matches (default true)' })
    .option('iptables-random-fully', { type: 'boolean', group: GROUP, describe: 'MASQUERADE --random-fully (default true)' })
    .option('conntrack-tcp-be-liberal', {
      type: 'boolean',
      group: GROUP,
      describe: 'nf_conntrack_tcp_be_liberal is set: no INVALID drop (default false)',
    })
    .option('service-cluster-ip-range', { type: 'string', group: GROUP, describe: 'Service CIDRs (nftables cluster-ips-check)' })
    .option('feature-gates', { type: 'string', group: GROUP, describe: 'e.g. PreferSameTrafficDistribution=false' })
    .option('kube-proxy-version', {
      type: 'string',
      group: GROUP,
      describe: `kube-proxy release whose rules to write, e.g. 1.36 or v1.36.2 (iptables ${supportedRange('iptables')}, nftables ${supportedRange('nftables')}; default: the Node's kubelet version, else 1.37)`,
    })
    .option('previous-rules', {
      type: 'string',
      group: GROUP,
      describe: "The node's current iptables-save: stale service chains are deleted",
    })
    .option('allow-empty', {
      type: 'boolean',
      group: GROUP,
      describe: 'Accept an input without Kubernetes objects (an empty cluster); otherwise exit 2',
    }) as Argv<T & CompileFlags>;
}
