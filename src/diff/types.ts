// The backend-neutral form `ktables diff` compares. Each backend's IR (iptables today, nftables
// next) is turned into a DiffSide: per service port, a semantic summary plus the rule lines of
// that service's chains, and the node-wide chains apart. compare.ts and format/* only ever see
// this form, so a second IR plugs in by writing one adapter (see iptables.ts).
import type { Family } from '../util/ip.js';

export type Backend = 'iptables' | 'nftables';

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

export type { Destination, DestinationKind, EndpointInfo, Handling, ServiceSummary } from '../kubeproxy/summary.js';
import type { ServiceSummary } from '../kubeproxy/summary.js';

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
