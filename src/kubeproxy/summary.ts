// What kube-proxy's rules for one service port say, in one backend-neutral form: read back from
// the rules alone (iptables-summary.ts, nftables-summary.ts), so a node's dump summarizes the
// same way as a compile, and what a model's service port says must come back out of its rules.
import { canonicalAddress } from '../util/canonical.js';

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
  /** In the node-local service chain (KUBE-SVL / local-...). */
  local: boolean;
}

export type Policy = 'Cluster' | 'Local';

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
  internalTrafficPolicy: Policy | null;
  externalTrafficPolicy: Policy | null;
  /** Sorted by address. */
  endpoints: EndpointInfo[];
  /**
   * Which cluster-IP traffic is masqueraded: "all", "none", or the match that selects it
   * (e.g. `! -s 10.0.0.0/8`); null when the service has no cluster-IP chain to tell.
   */
  clusterIPMasquerade: string | null;
}

const KIND_ORDER: DestinationKind[] = [
  'clusterIP',
  'externalIP',
  'loadBalancerIP',
  'externalIPOrLoadBalancerIP',
  'nodePort',
  'healthCheckNodePort',
];

function compareDestinations(a: Destination, b: Destination): number {
  const k = KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
  if (k !== 0) return k;
  const na = Number(a.address);
  const nb = Number(b.address);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

const byAddress = (a: { address: string }, b: { address: string }) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

/** What a summarizer collects while it reads one service port's rules. */
export class SummaryBuilder {
  private readonly dests = new Map<string, Destination>();
  private readonly eps = new Map<string, EndpointInfo>();
  readonly ranges: string[] = [];
  internalTrafficPolicy: Policy | null = null;
  externalTrafficPolicy: Policy | null = null;
  sessionAffinityTimeoutSeconds: number | null = null;
  clusterIPMasquerade: string | null = null;

  /**
   * Address-like destinations merge by address whatever kind each rule suggested: a specific
   * kind beats the ambiguous one, a cluster IP beats anything, and a DROP/REJECT wins over the
   * rule that would forward (it is what traffic from outside meets).
   */
  destination(kind: DestinationKind, address: string, handling: Handling | undefined): void {
    const key = kind === 'nodePort' || kind === 'healthCheckNodePort' ? `${kind} ${address}` : address;
    const d = this.dests.get(key);
    if (!d) {
      this.dests.set(key, { kind, address, handling: handling ?? 'endpoints' });
      return;
    }
    if (d.kind === 'externalIPOrLoadBalancerIP' || kind === 'clusterIP') d.kind = kind;
    if (handling && handling !== 'endpoints') d.handling = handling;
  }

  /** An endpoint; `from` says which service chain reaches it. */
  endpoint(address: string, from?: 'cluster' | 'local'): void {
    let e = this.eps.get(address);
    if (!e) this.eps.set(address, (e = { address, cluster: false, local: false }));
    if (from) e[from] = true;
  }

  build(protocol: string): ServiceSummary {
    const destinations = [...this.dests.values()].sort(compareDestinations);
    // kube-proxy also lets the VIPs themselves in when a range holds the node's IP (traffic the
    // node sends to its own VIP comes back with the VIP as source): not a user-given range.
    const vips = new Set(
      destinations.filter((d) => d.kind === 'loadBalancerIP').map((d) => canonicalAddress(d.address.replace(/^\[?(.*?)\]?:\d+$/, '$1'))),
    );
    return {
      protocol: protocol.toUpperCase(),
      destinations,
      loadBalancerSourceRanges: [...new Set(this.ranges)].filter((r) => !vips.has(r)).sort(),
      sessionAffinityTimeoutSeconds: this.sessionAffinityTimeoutSeconds,
      internalTrafficPolicy: this.internalTrafficPolicy,
      externalTrafficPolicy: this.externalTrafficPolicy,
      endpoints: [...this.eps.values()].sort(byAddress),
      clusterIPMasquerade: this.clusterIPMasquerade,
    };
  }
}
