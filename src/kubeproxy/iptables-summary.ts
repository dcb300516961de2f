// What one service port's iptables rules do (summary.ts), read back from the rules. Comments
// tell an external IP from a LoadBalancer IP; where they are missing the chain a rule jumps to
// decides, and where nothing can tell (only a DROP/REJECT rule is left for an address) the
// summary says so (externalIPOrLoadBalancerIP) rather than guess.
import type { Match, Rule } from '../ir/iptables.js';
import { ruleComment, targetChain } from '../ir/iptables.js';
import { canonicalAddress, hostPort } from '../util/canonical.js';
import { parseComment } from './iptables-comments.js';
import { KUBE_MARK_MASQ } from './iptables-names.js';
import type { ChainOwner } from './iptables-owners.js';
import { SummaryBuilder, type DestinationKind, type Handling, type ServiceSummary } from './summary.js';

/** One service port's rules, grouped the way the summary reads them. */
export interface IptablesServiceRules {
  protocol: string;
  /** `table chain` of a shared chain → this service's rules in it, in order. */
  shared: Map<string, Rule[]>;
  /** The service's own chains. */
  chains: { name: string; owner: ChainOwner; rules: Rule[] }[];
  /** Owner of any nat service chain (to read where a jump goes). */
  ownerOf(chain: string): ChainOwner | undefined;
}

function first<K extends Match['kind']>(rule: Rule, kind: K, negate = false): Extract<Match, { kind: K }> | undefined {
  for (const m of rule.matches)
    if (m.kind === kind && !!(m as { negate?: boolean }).negate === negate) return m as Extract<Match, { kind: K }>;
  return undefined;
}

function handlingOf(rule: Rule): Handling | undefined {
  const t = rule.target?.kind;
  return t === 'REJECT' || t === 'DROP' || t === 'ACCEPT' ? t : undefined;
}

const COMMENT_KIND: Partial<Record<string, DestinationKind>> = {
  clusterIP: 'clusterIP',
  externalIP: 'externalIP',
  loadBalancerIP: 'loadBalancerIP',
};
const LOCAL_EXTERNAL = new Set(['masqueradeLocalExternal', 'routeLocalExternal', 'podExternal']);

/** `describe` prints a match as iptables does (for the masquerade selector). */
export function summarizeIptables(g: IptablesServiceRules, describe: (m: Match) => string): ServiceSummary {
  const s = new SummaryBuilder();
  const rules = (key: string) => g.shared.get(key) ?? [];
  const commentOf = (r: Rule) => {
    const c = ruleComment(r);
    return c === undefined ? undefined : parseComment(c)?.kind;
  };
  const toPort = (r: Rule) => {
    const d = first(r, 'destination');
    const p = first(r, 'dport');
    return d && p ? hostPort(d.cidr, p.port) : undefined;
  };

  for (const r of rules('nat KUBE-SERVICES')) {
    const to = toPort(r);
    if (!to) continue;
    const target = targetChain(r);
    const role = target ? g.ownerOf(target)?.role : undefined;
    const kind =
      COMMENT_KIND[commentOf(r) ?? ''] ??
      (role === 'SVC' || role === 'SVL' ? 'clusterIP' : role === 'FW' ? 'loadBalancerIP' : 'externalIPOrLoadBalancerIP');
    s.destination(kind, to, 'endpoints');
    if (kind === 'clusterIP' && role === 'SVC') s.internalTrafficPolicy = 'Cluster';
    if (kind === 'clusterIP' && role === 'SVL') s.internalTrafficPolicy = 'Local';
  }
  for (const r of rules('filter KUBE-SERVICES')) {
    const to = toPort(r);
    if (!to) continue;
    const h = handlingOf(r);
    s.destination('clusterIP', to, h);
    // Only an internal-Local service drops (rather than rejects) for want of local endpoints.
    if (h === 'DROP') s.internalTrafficPolicy = 'Local';
  }
  for (const r of rules('filter KUBE-EXTERNAL-SERVICES')) {
    const p = first(r, 'dport');
    if (!p) continue;
    const h = handlingOf(r);
    const to = toPort(r);
    if (to) s.destination('externalIPOrLoadBalancerIP', to, h);
    else if (first(r, 'addrtype')) s.destination('nodePort', p.port, h);
    if (h === 'DROP') s.externalTrafficPolicy = 'Local';
  }
  for (const r of rules('nat KUBE-NODEPORTS')) {
    const p = first(r, 'dport');
    if (p) s.destination('nodePort', p.port, 'endpoints');
  }
  for (const r of rules('filter KUBE-NODEPORTS')) {
    const p = first(r, 'dport');
    if (p) s.destination('healthCheckNodePort', p.port, handlingOf(r) ?? 'ACCEPT');
  }
  for (const r of rules('filter KUBE-PROXY-FIREWALL')) {
    const to = toPort(r);
    if (to) s.destination('loadBalancerIP', to, undefined);
  }

  let internalChainSeen = false;
  for (const c of g.chains) {
    switch (c.owner.role) {
      case 'FW':
        for (const r of c.rules) {
          const src = first(r, 'source');
          if (src && targetChain(r)) s.ranges.push(canonicalAddress(src.cidr));
        }
        break;
      case 'EXT': {
        let local: boolean | undefined;
        for (const r of c.rules) {
          const kind = commentOf(r);
          if (kind === 'masqueradeExternal') local = false;
          else if ((kind && LOCAL_EXTERNAL.has(kind)) || first(r, 'addrtype')) local = true;
          else if (local === undefined && !first(r, 'source') && !first(r, 'inInterface')) {
            if (g.ownerOf(targetChain(r) ?? '')?.role === 'SVL') local = true;
          }
        }
        if (local !== undefined) s.externalTrafficPolicy = local ? 'Local' : 'Cluster';
        else if (s.externalTrafficPolicy === null) s.externalTrafficPolicy = 'Cluster';
        break;
      }
      case 'SVC':
      case 'SVL':
        internalChainSeen = true;
        for (const r of c.rules) {
          const target = targetChain(r);
          const owner = target ? g.ownerOf(target) : undefined;
          if (owner?.role === 'SEP' && owner.endpoint) s.endpoint(owner.endpoint, c.owner.role === 'SVC' ? 'cluster' : 'local');
          const recent = first(r, 'recent');
          if (recent && recent.seconds !== undefined) s.sessionAffinityTimeoutSeconds = recent.seconds;
          if (target === KUBE_MARK_MASQ) s.clusterIPMasquerade = describeMasquerade(r, describe);
        }
        break;
      case 'SEP':
        if (c.owner.endpoint) s.endpoint(c.owner.endpoint);
        for (const r of c.rules) if (first(r, 'recent') && s.sessionAffinityTimeoutSeconds === null) s.sessionAffinityTimeoutSeconds = 0;
        break;
    }
  }
  if (s.clusterIPMasquerade === null && internalChainSeen) s.clusterIPMasquerade = 'none';
  return s.build(g.protocol);
}

/** The part of the masquerade rule that picks traffic (kube-proxy's local-traffic detector). */
function describeMasquerade(rule: Rule, describe: (m: Match) => string): string {
  const picks = rule.matches.filter((m) => !['comment', 'module', 'protocol', 'destination', 'dport'].includes(m.kind));
  return picks.length === 0 ? 'all' : picks.map(describe).join(' ');
}
