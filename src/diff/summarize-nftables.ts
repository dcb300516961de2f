// What one service port's nftables objects do, read back from them (as summarize.ts does for
// iptables). nftables keeps less prose than iptables: a service-ips element that leads to the
// external chain does not say whether its address is an external IP or a LoadBalancer IP; it
// is a LoadBalancer IP when firewall-ips holds it too, and otherwise stays
// externalIPOrLoadBalancerIP. kube-proxy's nftables mode has no health-check-port rules.
import type { Element, Expr, Rule } from '../ir/nftables.js';
import { formatExpr } from '../emit/nftables.js';
import { canonicalAddress } from './normalize.js';
import { compareDestinations } from './summarize.js';
import type { Family } from '../util/ip.js';
import type { Destination, DestinationKind, EndpointInfo, Handling, ServiceSummary } from './types.js';

export type NftRole = 'service' | 'local' | 'external' | 'firewall' | 'endpoint' | 'affinity';

export interface NftServiceRules {
  protocol: string;
  family: Family;
  /** Set or map name → this service's elements in it. */
  elements: Map<string, Element[]>;
  chains: { name: string; role: NftRole; endpoint: string | undefined; rules: Rule[] }[];
  affinityTimeout: number | undefined;
  ownerOf(name: string): { role: NftRole; endpoint?: string } | undefined;
  /** Every address of the cluster-ips set (canonical). */
  clusterIPs: Set<string>;
  /** kube-proxy 1.36+: the one masquerade rule for every cluster IP, at the top of `services`. */
  clusterIPMasquerade: string | undefined;
}

function hostPort(ip: string, port: string): string {
  const a = canonicalAddress(ip);
  return a.includes(':') ? `[${a}]:${Number(port)}` : `${a}:${Number(port)}`;
}

function handlingOf(e: Element): Handling {
  const v = e.value;
  if (!v) return 'endpoints';
  if (v.kind === 'drop') return 'DROP';
  if ((v.kind === 'goto' || v.kind === 'jump') && v.chain === 'reject-chain') return 'REJECT';
  return 'endpoints';
}

export function summarizeNftables(g: NftServiceRules): ServiceSummary {
  const els = (set: string) => g.elements.get(set) ?? [];
  const lbIPs = new Set(els('firewall-ips').map((e) => canonicalAddress(e.key[0]!)));
  const dests = new Map<string, Destination>();
  const add = (kind: DestinationKind, address: string, handling: Handling) => {
    const key = kind === 'nodePort' ? `${kind} ${address}` : address;
    const d = dests.get(key);
    if (!d) dests.set(key, { kind, address, handling });
    else if (handling !== 'endpoints') d.handling = handling;
  };
  let itp: 'Cluster' | 'Local' | null = null;
  let etp: 'Cluster' | 'Local' | null = null;
  const ipKind = (ip: string): DestinationKind =>
    g.clusterIPs.has(canonicalAddress(ip))
      ? 'clusterIP'
      : lbIPs.has(canonicalAddress(ip))
        ? 'loadBalancerIP'
        : 'externalIPOrLoadBalancerIP';

  for (const e of els('service-ips')) {
    const [ip, , port] = e.key;
    const target = e.value && (e.value.kind === 'goto' || e.value.kind === 'jump') ? g.ownerOf(e.value.chain)?.role : undefined;
    const kind = target === 'service' || target === 'local' ? 'clusterIP' : ipKind(ip!);
    add(kind, hostPort(ip!, port!), 'endpoints');
    if (kind === 'clusterIP' && target === 'service') itp = 'Cluster';
    if (kind === 'clusterIP' && target === 'local') itp = 'Local';
  }
  for (const e of els('no-endpoint-services')) {
    const [ip, , port] = e.key;
    const kind = ipKind(ip!);
    const h = handlingOf(e);
    add(kind, hostPort(ip!, port!), h);
    if (h === 'DROP' && kind === 'clusterIP') itp = 'Local';
    if (h === 'DROP' && kind !== 'clusterIP') etp = 'Local';
  }
  for (const e of els('service-nodeports')) add('nodePort', String(Number(e.key[1])), 'endpoints');
  for (const e of els('no-endpoint-nodeports')) {
    const h = handlingOf(e);
    add('nodePort', String(Number(e.key[1])), h);
    if (h === 'DROP') etp = 'Local';
  }
  for (const e of els('firewall-ips')) add('loadBalancerIP', hostPort(e.key[0]!, e.key[2]!), 'endpoints');

  const endpoints = new Map<string, EndpointInfo>();
  const endpoint = (address: string) => {
    let e = endpoints.get(address);
    if (!e) endpoints.set(address, (e = { address, cluster: false, local: false }));
    return e;
  };
  const ranges: string[] = [];
  let masquerade: string | null = null;
  let internalSeen = false;
  for (const c of g.chains) {
    if (c.role === 'endpoint' && c.endpoint) endpoint(c.endpoint);
    if (c.role === 'firewall') {
      for (const r of c.rules)
        for (const x of r.exprs) if (x.kind === 'addr' && x.field === 'saddr' && x.negate) ranges.push(...x.values.map(canonicalAddress));
    }
    if (c.role === 'external') {
      const local = c.rules.some((r) => r.exprs.some((x) => x.kind === 'fibLocal') || /short-circuit|local traffic/.test(r.comment ?? ''));
      etp = local ? 'Local' : 'Cluster';
    }
    if (c.role === 'service' || c.role === 'local') {
      internalSeen = true;
      for (const r of c.rules) {
        const targets: string[] = [];
        const v = r.verdict;
        if (v?.kind === 'numgen')
          for (const e of v.entries) if (e.verdict.kind === 'goto' || e.verdict.kind === 'jump') targets.push(e.verdict.chain);
        if (v && (v.kind === 'goto' || v.kind === 'jump')) {
          if (v.chain === 'mark-for-masquerade') masquerade = describeMasquerade(r.exprs);
          else targets.push(v.chain);
        }
        const reached = (address: string) => {
          const e = endpoint(address);
          if (c.role === 'service') e.cluster = true;
          else e.local = true;
        };
        for (const t of targets) {
          const o = g.ownerOf(t);
          if (o?.role === 'endpoint' && o.endpoint) reached(o.endpoint);
        }
        // kube-proxy 1.36+ DNATs from the service chain itself when there is no session
        // affinity: through a numgen map, or (1.37, one endpoint) a plain `dnat to`.
        if (v?.kind === 'dnatMap') for (const e of v.entries) reached(hostPort(e.ip, String(e.port)));
        if (v?.kind === 'dnat') {
          const m = /^\[?(.*?)\]?:(\d+)$/.exec(v.to);
          if (m) reached(hostPort(m[1]!, m[2]!));
        }
      }
    }
  }
  if (masquerade === null && internalSeen) masquerade = g.clusterIPMasquerade ?? 'none';
  const destinations = [...dests.values()].sort(compareDestinations);
  const vips = new Set(
    destinations.filter((d) => d.kind === 'loadBalancerIP').map((d) => canonicalAddress(d.address.replace(/^\[?(.*?)\]?:\d+$/, '$1'))),
  );
  return {
    protocol: g.protocol.toUpperCase(),
    destinations,
    loadBalancerSourceRanges: [...new Set(ranges)].filter((r) => !vips.has(r)).sort(),
    sessionAffinityTimeoutSeconds: g.affinityTimeout ?? null,
    internalTrafficPolicy: itp,
    externalTrafficPolicy: etp,
    endpoints: [...endpoints.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
    clusterIPMasquerade: masquerade,
  };
}

/**
 * The part of a masquerade rule that picks traffic: all but the cluster IP match (an address,
 * or 1.36+'s `@cluster-ips`) and the mark it sets.
 */
function describeMasquerade(exprs: Expr[]): string {
  const picks = exprs.filter(
    (x) =>
      !((x.kind === 'addr' || x.kind === 'lookup') && x.field === 'daddr' && !x.negate) && x.kind !== 'counter' && x.kind !== 'markSet',
  );
  return picks.length === 0 ? 'all' : picks.map(formatExpr).join(' ');
}

/** kube-proxy 1.36+ masquerades cluster-IP traffic in one rule of `services`, on `@cluster-ips`. */
export function servicesClusterIPMasquerade(services: Rule[] | undefined): string | undefined {
  const rule = services?.find(
    (r) => r.exprs.some((x) => x.kind === 'lookup' && x.set === 'cluster-ips' && !x.negate) && r.exprs.some((x) => x.kind === 'markSet'),
  );
  return rule && describeMasquerade(rule.exprs);
}
