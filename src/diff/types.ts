// The backend-neutral form `ktables diff` compares. Each backend's IR (iptables today, nftables
// next) is turned into a DiffSide: per service port, a semantic summary plus the rule lines of
// that service's chains, and the node-wide chains apart. compare.ts and format/* only ever see
// this form, so a second IR plugs in by writing one adapter (see iptables.ts).

export type Backend = 'iptables' | 'nftables';
export type Family = 'ipv4' | 'ipv6';

/**
 * The rules of one chain that belong to one owner (a service port, or the node). For a chain
 * shared by all services (KUBE-SERVICES, nft maps) this is the owner's slice of it.
 */
export interface ChainView {
  /** Identity across the two sides: never a hashed name (SEP chains go by their endpoint). */
  id: string;
  /** Table (iptables) or `family table` (nftables), for display. */
  table: string;
  /** The chain's name on this side, for display. */
  name: string;
  /** Sort rank for display; ties by id. */
  rank: number;
  /** A hint shown next to the name, e.g. "endpoint 10.1.0.5:80". */
  label?: string;
  /** Number of rules. */
  size: number;
  /** Comparison keys, one per rule, in chain order; computed on first use. */
  keys(): readonly string[];
  /**
   * True when this view cheaply proves to have the same keys as `other` (for iptables: the
   * very same rule objects, in order, naming chains that resolve alike); false when it cannot
   * tell. Lets a diff of two mostly equal rule sets skip normalizing what did not change.
   */
  sameAs?(other: ChainView): boolean;
  /** The rule as this side wrote it, by index; only called for lines that are shown. */
  text(index: number): string;
  /**
   * Set for a chain the service owns (SVC/SEP/...): counted in chain statistics. Unset for a
   * service's slice of a shared chain.
   */
  owned: boolean;
}

export type DestinationKind =
  | 'clusterIP'
  | 'externalIP'
  | 'loadBalancerIP'
  /** Only a DROP/REJECT rule is left, and it does not say which of the two it was. */
  | 'externalIPOrLoadBalancerIP'
  | 'nodePort'
  | 'healthCheckNodePort';

/** What a destination does with a new connection. */
export type Handling = 'endpoints' | 'REJECT' | 'DROP' | 'ACCEPT';

export interface Destination {
  kind: DestinationKind;
  /** `ip:port` / `[ip6]:port` for addresses, the port number for node ports. */
  address: string;
  handling: Handling;
}

export interface EndpointInfo {
  /** `ip:port` or `[ip6]:port`, as the DNAT writes it (canonical address). */
  address: string;
  /** In the cluster-wide service chain (KUBE-SVC / service-...). */
  cluster: boolean;
  /** In the node-local service chain (KUBE-SVL). */
  local: boolean;
}

/** What the rules say one service port does, derived from the rules alone. */
export interface ServiceSummary {
  /** TCP, UDP or SCTP; "" when no rule says. */
  protocol: string;
  /** Sorted by kind, then address. */
  destinations: Destination[];
  /** CIDRs allowed to reach the LoadBalancer IPs; [] when unrestricted. */
  loadBalancerSourceRanges: string[];
  sessionAffinityTimeoutSeconds: number | null;
  /** null when the rules cannot tell (e.g. no endpoints at all). */
  internalTrafficPolicy: 'Cluster' | 'Local' | null;
  externalTrafficPolicy: 'Cluster' | 'Local' | null;
  /** Sorted by address. */
  endpoints: EndpointInfo[];
  /**
   * Which cluster-IP traffic is masqueraded: "all", "none", or the match that selects it
   * (e.g. `! -s 10.0.0.0/8`); null when the service has no cluster-IP chain to tell.
   */
  clusterIPMasquerade: string | null;
}

export interface ServiceView {
  /** kube-proxy's service port name: `ns/name` or `ns/name:port`. */
  name: string;
  /** Lower case (tcp, udp, sctp); "" when unknown. */
  protocol: string;
  chains: ChainView[];
  /** Computed only for service ports that differ. */
  summary(): ServiceSummary;
}

export interface DiffSide {
  backend: Backend;
  family: Family;
  /** By service port name. */
  services: Map<string, ServiceView>;
  /** Chains (and slices of shared chains) that belong to no single service port. */
  nodeWide: ChainView[];
  /** What was left out of the comparison and why (e.g. chains kube-proxy does not own). */
  notes: string[];
  /** The kube-proxy release the rules' shapes show (nftables), when known. */
  release?: string;
}
