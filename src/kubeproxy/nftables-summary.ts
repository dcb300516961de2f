// What one service port's nftables objects do (summary.ts), read back from them. nftables keeps
// less prose than iptables: a service-ips element that leads to the external chain does not say
// whether its address is an external IP or a LoadBalancer IP; it is a LoadBalancer IP when
// firewall-ips holds it too, and otherwise stays externalIPOrLoadBalancerIP. kube-proxy's
// nftables mode has no health-check-port rules.
import type { Element, Expr, Rule } from '../ir/nftables.js';
import { canonicalAddress, hostPort } from '../util/canonical.js';
import {
  CLUSTER_IPS_SET,
  FIREWALL_IPS_MAP,
  MARK_MASQ_CHAIN,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  REJECT_CHAIN,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
  type NftRole,
} from './nftables-names.js';
import { SummaryBuilder, type DestinationKind, type Handling, type ServiceSummary } from './summary.js';

export interface NftServiceRules {
  protocol: string;
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

function handlingOf(e: Element): Handling {
  const v = e.value;
  if (!v) return 'endpoints';
  if (v.kind === 'drop') return 'DROP';
  if ((v.kind === 'goto' || v.kind === 'jump') && v.chain === REJECT_CHAIN) return 'REJECT';
  return 'endpoints';
}

const port = (text: string | number) => String(Number(text));

/** `describe` prints an expression as nft does (for the masquerade selector). */
export function summarizeNftables(g: NftServiceRules, describe: (x: Expr) => string): ServiceSummary {
  const s = new SummaryBuilder();
  const els = (set: string) => g.elements.get(set) ?? [];
  const lbIPs = new Set(els(FIREWALL_IPS_MAP).map((e) => canonicalAddress(e.key[0]!)));
  const ipKind = (ip: string): DestinationKind =>
    g.clusterIPs.has(canonicalAddress(ip))
      ? 'clusterIP'
      : lbIPs.has(canonicalAddress(ip))
        ? 'loadBalancerIP'
        : 'externalIPOrLoadBalancerIP';

  for (const e of els(SERVICE_IPS_MAP)) {
    const [ip, , p] = e.key;
    const target = e.value && (e.value.kind === 'goto' || e.value.kind === 'jump') ? g.ownerOf(e.value.chain)?.role : undefined;
    const kind = target === 'service' || target === 'local' ? 'clusterIP' : ipKind(ip!);
    s.destination(kind, hostPort(ip!, port(p!)), 'endpoints');
    if (kind === 'clusterIP' && target === 'service') s.internalTrafficPolicy = 'Cluster';
    if (kind === 'clusterIP' && target === 'local') s.internalTrafficPolicy = 'Local';
  }
  for (const e of els(NO_ENDPOINT_SERVICES_MAP)) {
    const [ip, , p] = e.key;
    const kind = ipKind(ip!);
    const h = handlingOf(e);
    s.destination(kind, hostPort(ip!, port(p!)), h);
    if (h === 'DROP' && kind === 'clusterIP') s.internalTrafficPolicy = 'Local';
    if (h === 'DROP' && kind !== 'clusterIP') s.externalTrafficPolicy = 'Local';
  }
  for (const e of els(SERVICE_NODEPORTS_MAP)) s.destination('nodePort', port(e.key[1]!), 'endpoints');
  for (const e of els(NO_ENDPOINT_NODEPORTS_MAP)) {
    const h = handlingOf(e);
    s.destination('nodePort', port(e.key[1]!), h);
    if (h === 'DROP') s.externalTrafficPolicy = 'Local';
  }
  for (const e of els(FIREWALL_IPS_MAP)) s.destination('loadBalancerIP', hostPort(e.key[0]!, port(e.key[2]!)), 'endpoints');

  let internalSeen = false;
  for (const c of g.chains) {
    if (c.role === 'endpoint' && c.endpoint) s.endpoint(c.endpoint);
    if (c.role === 'firewall') {
      for (const r of c.rules)
        for (const x of r.exprs) if (x.kind === 'addr' && x.field === 'saddr' && x.negate) s.ranges.push(...x.values.map(canonicalAddress));
    }
    if (c.role === 'external') {
      const local = c.rules.some((r) => r.exprs.some((x) => x.kind === 'fibLocal') || /short-circuit|local traffic/.test(r.comment ?? ''));
      s.externalTrafficPolicy = local ? 'Local' : 'Cluster';
    }
    if (c.role !== 'service' && c.role !== 'local') continue;
    internalSeen = true;
    const from = c.role === 'service' ? 'cluster' : 'local';
    for (const r of c.rules) {
      const targets: string[] = [];
      const v = r.verdict;
      if (v?.kind === 'numgen')
        for (const e of v.entries) if (e.verdict.kind === 'goto' || e.verdict.kind === 'jump') targets.push(e.verdict.chain);
      if (v && (v.kind === 'goto' || v.kind === 'jump')) {
        if (v.chain === MARK_MASQ_CHAIN) s.clusterIPMasquerade = describeMasquerade(r.exprs, describe);
        else targets.push(v.chain);
      }
      for (const t of targets) {
        const o = g.ownerOf(t);
        if (o?.role === 'endpoint' && o.endpoint) s.endpoint(o.endpoint, from);
      }
      // kube-proxy 1.36+ DNATs from the service chain itself when there is no session
      // affinity: through a numgen map, or (1.37, one endpoint) a plain `dnat to`.
      if (v?.kind === 'dnatMap') for (const e of v.entries) s.endpoint(hostPort(e.ip, port(e.port)), from);
      if (v?.kind === 'dnat') {
        const m = /^\[?(.*?)\]?:(\d+)$/.exec(v.to);
        if (m) s.endpoint(hostPort(m[1]!, port(m[2]!)), from);
      }
    }
  }
  if (s.clusterIPMasquerade === null && internalSeen) s.clusterIPMasquerade = g.clusterIPMasquerade ?? 'none';
  s.sessionAffinityTimeoutSeconds = g.affinityTimeout ?? null;
  return s.build(g.protocol);
}

/**
 * The part of a masquerade rule that picks traffic: all but the cluster IP match (an address,
 * or 1.36+'s `@cluster-ips`) and the mark it sets.
 */
function describeMasquerade(exprs: Expr[], describe: (x: Expr) => string): string {
  const picks = exprs.filter(
    (x) =>
      !((x.kind === 'addr' || x.kind === 'lookup') && x.field === 'daddr' && !x.negate) && x.kind !== 'counter' && x.kind !== 'markSet',
  );
  return picks.length === 0 ? 'all' : picks.map(describe).join(' ');
}

/** kube-proxy 1.36+ masquerades cluster-IP traffic in one rule of `services`, on `@cluster-ips`. */
export function servicesClusterIPMasquerade(services: Rule[] | undefined, describe: (x: Expr) => string): string | undefined {
  const rule = services?.find(
    (r) => r.exprs.some((x) => x.kind === 'lookup' && x.set === CLUSTER_IPS_SET && !x.negate) && r.exprs.some((x) => x.kind === 'markSet'),
  );
  return rule && describeMasquerade(rule.exprs, describe);
}
