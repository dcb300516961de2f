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

/** One compile flag as yargs declares it; compile-argv.ts reads the same table without yargs. */
export interface CompileFlagDef {
  type: 'string' | 'boolean';
  choices?: readonly string[];
  describe?: string;
}

/** The compile flags, in --help order. */
export const COMPILE_FLAGS: Readonly<Record<keyof CompileFlags, CompileFlagDef>> = {
  config: { type: 'string', describe: 'KubeProxyConfiguration file; flags override it' },
  'proxy-mode': { type: 'string', choices: ['iptables', 'nftables'], describe: 'Backend (default iptables)' },
  'ip-family': { type: 'string', choices: ['ipv4', 'ipv6'], describe: "Which family's proxier (default ipv4)" },
  'hostname-override': { type: 'string', describe: "This node's name (matches EndpointSlice nodeName)" },
  'node-ip': { type: 'string', describe: 'A local address of the node; repeat, primary first' },
  'cluster-cidr': { type: 'string', describe: 'Pod CIDR for ClusterCIDR local detection; repeatable or comma-separated' },
  'detect-local-mode': { type: 'string', choices: ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix', 'None'] },
  'pod-bridge-interface': { type: 'string' },
  'pod-interface-name-prefix': { type: 'string' },
  'masquerade-all': { type: 'boolean', describe: 'SNAT all traffic sent to cluster IPs' },
  'iptables-masquerade-bit': { type: 'string', describe: 'fwmark bit for masquerading (default 14)' },
  'masquerade-mark': { type: 'string', describe: 'Literal mark string, overriding the bit (tests use 0x4000)' },
  'nodeport-addresses': { type: 'string', describe: "CIDRs NodePorts listen on; 'primary' (1.37+: also 'localhost', 'all')" },
  'iptables-localhost-nodeports': { type: 'boolean', describe: 'NodePorts on 127.0.0.0/8 (default true)' },
  nfacct: { type: 'boolean', describe: 'Emit nfacct counter matches (default true)' },
  'iptables-random-fully': { type: 'boolean', describe: 'MASQUERADE --random-fully (default true)' },
  'conntrack-tcp-be-liberal': { type: 'boolean', describe: 'nf_conntrack_tcp_be_liberal is set: no INVALID drop (default false)' },
  'service-cluster-ip-range': { type: 'string', describe: 'Service CIDRs (nftables cluster-ips-check)' },
  'feature-gates': { type: 'string', describe: 'e.g. PreferSameTrafficDistribution=false' },
  'kube-proxy-version': {
    type: 'string',
    describe: `kube-proxy release whose rules to write, e.g. 1.36 or v1.36.2 (iptables ${supportedRange('iptables')}, nftables ${supportedRange('nftables')}; default: the Node's kubelet version, else 1.37)`,
  },
  'previous-rules': { type: 'string', describe: "The node's current iptables-save: stale service chains are deleted" },
  'allow-empty': { type: 'boolean', describe: 'Accept an input without Kubernetes objects (an empty cluster); otherwise exit 2' },
};

export function withCompileFlags<T>(y: Argv<T>): Argv<T & CompileFlags> {
  let out: Argv<T> = y;
  for (const [name, def] of Object.entries(COMPILE_FLAGS)) {
    out = out.option(name, {
      type: def.type,
      group: GROUP,
      ...(def.describe !== undefined && { describe: def.describe }),
      ...(def.choices && { choices: [...def.choices] }),
    });
  }
  return out as Argv<T & CompileFlags>;
}
