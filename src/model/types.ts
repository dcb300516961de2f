// kube-proxy's view of the cluster from one node: what its service and endpoint change
// trackers hold after a full sync, plus the node context its flags describe. Backends read
// only these types.
import type { Release } from '../kubeproxy/releases.js';
import type { IPFamily } from '../util/ip.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** How kube-proxy recognises traffic that comes from a pod on this node. */
export type LocalDetector =
  | { mode: 'ClusterCIDR' | 'NodeCIDR'; cidrs: string[] } // canonical CIDRs of this family
  | { mode: 'BridgeInterface'; interfaceName: string }
  | { mode: 'InterfaceNamePrefix'; interfacePrefix: string }
  | { mode: 'None' };

export interface NodeContext {
  family: IPFamily;
  nodeName: string;
  /** Every local address given (both families, canonical), in the order given. */
  nodeIPs: string[];
  /** The first node IP of this family: used for "a source range contains this node". */
  primaryNodeIP: string | undefined;
  /** The node's zone label, for topology hints. */
  zone: string | undefined;
  localDetector: LocalDetector;
  masqueradeAll: boolean;
  /** The mark as kube-proxy prints it, e.g. 0x00004000 (bit 14) or the literal test value 0x4000. */
  masqueradeMark: string;
  /**
   * NodePort destinations. matchAll: every local address (iptables: `-m addrtype --dst-type LOCAL`).
   * Otherwise the node addresses inside the configured CIDRs, in pinned order: 127.0.0.1, ::1,
   * then the node IPs as given (this family only).
   */
  nodePorts: { matchAll: true } | { matchAll: false; addresses: string[] };
  /** iptables only: NodePorts reachable on 127.0.0.0/8 (already forced off where kube-proxy does). */
  localhostNodePorts: boolean;
  /** iptables only: emit nfacct counter matches. */
  nfacct: boolean;
  /** iptables only: MASQUERADE --random-fully. */
  randomFully: boolean;
  /** iptables only: nf_conntrack_tcp_be_liberal is set, so no INVALID drop rule. */
  conntrackTcpBeLiberal: boolean;
  /** The kube-proxy release whose rules to write, as behaviour flags (src/kubeproxy/releases.ts). */
  release: Release;
  /** nftables 1.37+ with KubeProxyNFTablesLocalhostNodePorts: protocols whose localhost NodePorts are rejected. */
  localhostNodePortRejects: ('tcp' | 'udp' | 'sctp')[];
  /** nftables only: the service CIDRs for the cluster-ips-check chain (this family). */
  serviceCIDRs: string[];
}

export interface Endpoint {
  ip: string; // canonical
  port: number;
  /** "ip:port" or "[ip6]:port": kube-proxy's endpoint string (sorting, hashing, DNAT). */
  address: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** nodeName equals this node's name. */
  isLocal: boolean;
  zoneHints: string[] | undefined; // undefined: no hints at all
  nodeHints: string[] | undefined;
}

export interface ServicePort {
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  /** "ns/name" or "ns/name:portName": kube-proxy's ServicePortName.String(). */
  displayName: string;
  clusterIP: string;
  port: number;
  nodePort: number; // 0 = none
  externalIPs: string[]; // this family, canonical, spec order
  loadBalancerVIPs: string[]; // ingress IPs of this family, ipMode Proxy excluded
  loadBalancerSourceRanges: string[]; // canonical CIDRs of this family; [] when a zero CIDR was listed
  sessionAffinity: { timeoutSeconds: number } | undefined; // ClientIP only
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  healthCheckNodePort: number; // 0 = none
  /** Every endpoint kube-proxy knows for this port (all conditions), sorted by address. */
  endpoints: Endpoint[];
}

/** The result of kube-proxy's CategorizeEndpoints for one service port. */
export interface EndpointSelection {
  clusterEndpoints: Endpoint[];
  localEndpoints: Endpoint[];
  /** Endpoints that get an endpoint (SEP) chain. */
  allReachable: Endpoint[];
  hasAnyEndpoints: boolean;
}

export interface ProxyModel {
  node: NodeContext;
  /** Sorted by displayName, then protocol: the order every backend writes rules in. */
  servicePorts: ServicePort[];
  /** Sum over all service ports of their unfiltered endpoint counts (large-cluster mode). */
  totalEndpoints: number;
}
