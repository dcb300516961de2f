import type { KubeProxyVersion, ProxyMode } from '../kubeproxy/releases.js';
import type { IPFamily } from '../util/ip.js';

export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix' | 'None';

/**
 * The node-level settings kube-proxy takes from its flags and config file, by kube-proxy's own
 * names. Fields left undefined get kube-proxy's defaults (possibly per mode) in nodeContext().
 */
export interface ProxyOptions {
  proxyMode: ProxyMode;
  ipFamily: IPFamily;
  hostnameOverride?: string;
  /** This machine's name (the host's, given by the caller): the node name when nothing else says. */
  hostname?: string;
  nodeIPs: string[];
  clusterCIDRs: string[];
  detectLocalMode?: DetectLocalMode;
  podBridgeInterface?: string;
  podInterfaceNamePrefix?: string;
  masqueradeAll: boolean;
  masqueradeBit: number;
  masqueradeMark?: string;
  /** CIDRs and the keywords primary, localhost, all; undefined: all local addresses (iptables) / primary (nftables). */
  nodePortAddresses?: string[];
  localhostNodePorts: boolean;
  nfacct: boolean;
  randomFully: boolean;
  conntrackTcpBeLiberal: boolean;
  serviceClusterIPRanges: string[];
  /** PreferSameTrafficDistribution feature gate (node hints). */
  preferSameTrafficDistribution: boolean;
  /** --kube-proxy-version; undefined: the Node's kubelet version, else the newest modelled. */
  kubeProxyVersion?: KubeProxyVersion;
  /** KubeProxyNFTablesLocalhostNodePorts feature gate (kube-proxy 1.37+, nftables). */
  localhostNodePortsGate: boolean;
  /** Not kube-proxy's: an input without objects is accepted as an empty cluster (--allow-empty). */
  allowEmpty?: boolean;
  /** Notes from reading the options (accepted feature gates ktables does not model), for --verbose. */
  notes?: string[];
}

export const DEFAULT_OPTIONS: ProxyOptions = {
  proxyMode: 'iptables',
  ipFamily: 'ipv4',
  nodeIPs: [],
  clusterCIDRs: [],
  masqueradeAll: false,
  masqueradeBit: 14,
  localhostNodePorts: true,
  nfacct: true,
  randomFully: true,
  conntrackTcpBeLiberal: false,
  serviceClusterIPRanges: [],
  preferSameTrafficDistribution: true,
  localhostNodePortsGate: false,
};
