// The jump rules kube-proxy keeps in the built-in chains (its iptablesJumpChains and the
// kubelet-duplicate KUBE-FIREWALL jumps). They are not part of the restore payload: kube-proxy
// ensures each with `iptables -C` / `-I CHAIN 1` before every full sync, so on a fresh node
// they stand in reverse list order at the top of each built-in chain.
import type { Match, Rule } from '../../ir/iptables.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from '../../kubeproxy/iptables-names.js';

export interface JumpRule {
  table: 'filter' | 'nat';
  chain: string; // built-in chain
  rule: Rule;
}

const NEW: Match = { kind: 'conntrack', states: ['NEW'] };

function jumpRule(table: 'filter' | 'nat', chain: string, extra: Match[], comment: string | undefined, target: string): JumpRule {
  const matches: Match[] = [...extra];
  if (comment) matches.push({ kind: 'comment', text: comment });
  return { table, chain, rule: { matches, target: { kind: 'jump', chain: target } } };
}

/** In kube-proxy's list order (each is inserted at position 1, so the last one ends up first). */
export function kubeProxyJumpRules(): JumpRule[] {
  return [
    jumpRule('filter', 'INPUT', [NEW], 'kubernetes externally-visible service portals', KUBE_EXTERNAL_SERVICES),
    jumpRule('filter', 'FORWARD', [NEW], 'kubernetes externally-visible service portals', KUBE_EXTERNAL_SERVICES),
    jumpRule('filter', 'INPUT', [], 'kubernetes health check service ports', KUBE_NODEPORTS),
    jumpRule('filter', 'FORWARD', [NEW], 'kubernetes service portals', KUBE_SERVICES),
    jumpRule('filter', 'OUTPUT', [NEW], 'kubernetes service portals', KUBE_SERVICES),
    jumpRule('filter', 'FORWARD', [], 'kubernetes forwarding rules', KUBE_FORWARD),
    jumpRule('filter', 'INPUT', [NEW], 'kubernetes load balancer firewall', KUBE_PROXY_FIREWALL),
    jumpRule('filter', 'OUTPUT', [NEW], 'kubernetes load balancer firewall', KUBE_PROXY_FIREWALL),
    jumpRule('filter', 'FORWARD', [NEW], 'kubernetes load balancer firewall', KUBE_PROXY_FIREWALL),
    jumpRule('nat', 'OUTPUT', [], 'kubernetes service portals', KUBE_SERVICES),
    jumpRule('nat', 'PREROUTING', [], 'kubernetes service portals', KUBE_SERVICES),
    jumpRule('nat', 'POSTROUTING', [], 'kubernetes postrouting rules', KUBE_POSTROUTING),
    jumpRule('filter', 'INPUT', [], undefined, KUBE_FIREWALL),
    jumpRule('filter', 'OUTPUT', [], undefined, KUBE_FIREWALL),
  ];
}

/** The jump rules of one built-in chain in the order they stand on a fresh node. */
export function jumpRulesFor(table: string, chain: string): Rule[] {
  return kubeProxyJumpRules()
    .filter((j) => j.table === table && j.chain === chain)
    .map((j) => j.rule)
    .reverse();
}
