// What one service port's iptables rules do, read back from the rules (never from manifests),
// so a node's iptables-save summarizes the same way as a compile. Comments help tell an
// external IP from a LoadBalancer IP; where they are missing the chain a rule jumps to decides,
// and where nothing can tell (only a DROP/REJECT rule is left for an address) the summary says
// so (externalIPOrLoadBalancerIP) rather than guess.
import type { Match, Rule } from '../ir/iptables.js';
import { ruleComment, targetChain } from '../ir/iptables.js';
import { formatMatch } from '../emit/iptables.js';
import type { ChainOwner } from './attribute.js';
import { canonicalAddress } from './normalize.js';
import type { Destination, DestinationKind, EndpointInfo, Handling, ServiceSummary } from './types.js';

/** One service port's rules, grouped the way summarize reads them. */
export interface IptablesServiceRules {
  protocol: string;
  /** `table chain` of a shared chain → this service's rules in it, in order. */
  shared: Map<string, Rule[]>;
  /** The service's own chains. */
  chains: { name: string; owner: ChainOwner; rules: Rule[] }[];
  /** Owner of any nat service chain (to read where a jump goes). */
  ownerOf(chain: string): ChainOwner | undefined;
}

const KIND_ORDER: DestinationKind[] = [
  'clusterIP',
  'externalIP',
  'loadBalancerIP',
  'externalIPOrLoadBalancerIP',
  'nodePort',
  'healthCheckNodePort',
];

function first<K extends Match['kind']>(rule: Rule, kind: K, negate = false): Extract<Match, { kind: K }> | undefined {
  for (const m of rule.matches)
    if (m.kind === kind && !!(m as { negate?: boolean }).negate === negate) return m as Extract<Match, { kind: K }>;
  return undefined;
}

function hostPort(ip: string, port: string): string {
  const a = canonicalAddress(ip);
  return a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`;
}

function handlingOf(rule: Rule): Handling | undefined {
  const t = rule.target?.kind;
  return t === 'REJECT' || t === 'DROP' || t === 'ACCEPT' ? t : undefined;
}

export function compareDestinations(a: Destination, b: Destination): number {
  const k = KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
  if (k !== 0) return k;
  const na = Number(a.address);
  const nb = Number(b.address);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** Address-like destinations merge by address whatever kind each rule suggested. */
class Destinations {
  private readonly byKey = new Map<string, Destination>();

  add(kind: DestinationKind, address: string, handling: Handling | undefined): void {
    const key = kind === 'nodePort' || kind === 'healthCheckNodePort' ? `${kind} ${address}` : address;
    const d = this.byKey.get(key);
    if (!d) {
      this.byKey.set(key, { kind, address, handling: handling ?? 'endpoints' });
      return;
    }
    // A specific kind beats the ambiguous one; a cluster IP beats anything.
    if (d.kind === 'externalIPOrLoadBalancerIP' || kind === 'clusterIP') d.kind = kind;
    // A DROP/REJECT in the filter table wins over the nat rule that would forward: it is what
    // traffic from outside meets.
    if (handling && handling !== 'endpoints') d.handling = handling;
  }

  list(): Destination[] {
    return [...this.byKey.values()].sort(compareDestinations);
  }
}

function commentKind(comment: string | undefined): DestinationKind | undefined {
  if (!comment) return undefined;
  if (comment.endsWith(' cluster IP')) return 'clusterIP';
  if (comment.endsWith(' external IP')) return 'externalIP';
  if (comment.endsWith(' loadbalancer IP')) return 'loadBalancerIP';
  return undefined;
}

export function summarizeIptables(g: IptablesServiceRules): ServiceSummary {
  const dests = new Destinations();
  let itp: 'Cluster' | 'Local' | null = null;
  let etp: 'Cluster' | 'Local' | null = null;
  const rules = (key: string) => g.shared.get(key) ?? [];

  for (const r of rules('nat KUBE-SERVICES')) {
    const d = first(r, 'destination');
    const p = first(r, 'dport');
    if (!d || !p) continue;
    const target = targetChain(r);
    const role = target ? g.ownerOf(target)?.role : undefined;
    let kind = commentKind(ruleComment(r));
    if (!kind) kind = role === 'SVC' || role === 'SVL' ? 'clusterIP' : role === 'FW' ? 'loadBalancerIP' : 'externalIPOrLoadBalancerIP';
    dests.add(kind, hostPort(d.cidr, p.port), 'endpoints');
    if (kind === 'clusterIP' && role === 'SVC') itp = 'Cluster';
    if (kind === 'clusterIP' && role === 'SVL') itp = 'Local';
  }
  for (const r of rules('filter KUBE-SERVICES')) {
    const d = first(r, 'destination');
    const p = first(r, 'dport');
    if (!d || !p) continue;
    const h = handlingOf(r);
    dests.add('clusterIP', hostPort(d.cidr, p.port), h);
    // Only an internal-Local service drops (rather than rejects) for want of local endpoints.
    if (h === 'DROP') itp = 'Local';
  }
  for (const r of rules('filter KUBE-EXTERNAL-SERVICES')) {
    const p = first(r, 'dport');
    if (!p) continue;
    const h = handlingOf(r);
    const d = first(r, 'destination');
    if (d) dests.add('externalIPOrLoadBalancerIP', hostPort(d.cidr, p.port), h);
    else if (first(r, 'addrtype')) dests.add('nodePort', p.port, h);
    if (h === 'DROP') etp = 'Local';
  }
  for (const r of rules('nat KUBE-NODEPORTS')) {
    const p = first(r, 'dport');
    if (p) dests.add('nodePort', p.port, 'endpoints');
  }
  for (const r of rules('filter KUBE-NODEPORTS')) {
    const p = first(r, 'dport');
    if (p) dests.add('healthCheckNodePort', p.port, handlingOf(r) ?? 'ACCEPT');
  }
  for (const r of rules('filter KUBE-PROXY-FIREWALL')) {
    const d = first(r, 'destination');
    const p = first(r, 'dport');
    if (d && p) dests.add('loadBalancerIP', hostPort(d.cidr, p.port), undefined);
  }

  const ranges: string[] = [];
  let affinity: number | null = null;
  const endpoints = new Map<string, EndpointInfo>();
  const endpoint = (address: string) => {
    let e = endpoints.get(address);
    if (!e) endpoints.set(address, (e = { address, cluster: false, local: false }));
    return e;
  };
  let masquerade: string | null = null;
  let internalChainSeen = false;

  for (const c of g.chains) {
    switch (c.owner.role) {
      case 'FW':
        for (const r of c.rules) {
          const s = first(r, 'source');
          if (s && targetChain(r)) ranges.push(canonicalAddress(s.cidr));
        }
        break;
      case 'EXT': {
        let local: boolean | undefined;
        for (const r of c.rules) {
          const text = ruleComment(r) ?? '';
          if (text.startsWith('masquerade traffic for ')) local = false;
          else if (/^(masquerade LOCAL|route LOCAL|pod) traffic for /.test(text) || first(r, 'addrtype')) local = true;
          else if (local === undefined && !first(r, 'source') && !first(r, 'inInterface')) {
            const role = g.ownerOf(targetChain(r) ?? '')?.role;
            if (role === 'SVL') local = true;
          }
        }
        if (local !== undefined) etp = local ? 'Local' : 'Cluster';
        else if (etp === null) etp = 'Cluster';
        break;
      }
      case 'SVC':
      case 'SVL':
        internalChainSeen = true;
        for (const r of c.rules) {
          const target = targetChain(r);
          const owner = target ? g.ownerOf(target) : undefined;
          if (owner?.role === 'SEP' && owner.endpoint) {
            const e = endpoint(owner.endpoint);
            if (c.owner.role === 'SVC') e.cluster = true;
            else e.local = true;
          }
          const recent = first(r, 'recent');
          if (recent && recent.seconds !== undefined) affinity = recent.seconds;
          if (target === 'KUBE-MARK-MASQ') masquerade = describeMasquerade(r);
        }
        break;
      case 'SEP':
        if (c.owner.endpoint) endpoint(c.owner.endpoint);
        for (const r of c.rules) if (first(r, 'recent') && affinity === null) affinity = 0;
        break;
    }
  }
  if (masquerade === null && internalChainSeen) masquerade = 'none';

  const destinations = dests.list();
  // kube-proxy also lets the VIPs themselves in when a range holds the node's IP (traffic the
  // node sends to its own VIP comes back with the VIP as source): not a user-given range.
  const vips = new Set(
    destinations.filter((d) => d.kind === 'loadBalancerIP').map((d) => canonicalAddress(d.address.replace(/^\[?(.*?)\]?:\d+$/, '$1'))),
  );
  return {
    protocol: g.protocol.toUpperCase(),
    destinations,
    loadBalancerSourceRanges: [...new Set(ranges)].filter((r) => !vips.has(r)).sort(),
    sessionAffinityTimeoutSeconds: affinity,
    internalTrafficPolicy: itp,
    externalTrafficPolicy: etp,
    endpoints: [...endpoints.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
    clusterIPMasquerade: masquerade,
  };
}

/** The part of the masquerade rule that picks traffic (kube-proxy's local-traffic detector). */
function describeMasquerade(rule: Rule): string {
  const picks = rule.matches.filter((m) => !['comment', 'module', 'protocol', 'destination', 'dport'].includes(m.kind));
  return picks.length === 0 ? 'all' : picks.map(formatMatch).join(' ');
}
