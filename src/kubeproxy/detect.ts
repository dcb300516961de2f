// Which kube-proxy release wrote a rule set, read from the shapes of its rules (the changes
// listed in releases.ts). A rule file carries no version, so diff guesses from these.
import type { Table } from '../ir/nftables.js';

/**
 * A detected release: '1.35', '1.36', '1.37', '1.36+' (nftables: a v1.36 shape with nothing only
 * v1.37 writes); '<1.30', '1.30', '1.30+', '1.31+' (iptables: read from its nfacct counters).
 */
export type DetectedRelease = string;

/** '1.35', '1.36', '1.37', '1.36+' (a v1.36 shape with nothing only v1.37 writes), or undefined. */
export function detectNftRelease(t: Table): DetectedRelease | undefined {
  if (t.chains.some((c) => c.name === 'mark-for-masquerade')) return '1.35';
  if (!t.sets.some((s) => s.name === 'hairpin-connections')) return undefined;
  // v1.37 only: the gated localhost NodePort objects, or a service chain that DNATs directly.
  if (t.sets.some((s) => s.name === 'localhost-nodeport-reject-ports') || (t.counters ?? []).length > 0) return '1.37';
  const policyChain = (name: string) => name.startsWith('service-') || name.startsWith('local-');
  if (t.chains.some((c) => policyChain(c.name) && c.rules.some((r) => r.verdict?.kind === 'dnat'))) return '1.37';
  if (t.chains.some((c) => policyChain(c.name) && c.rules.some((r) => r.verdict?.kind === 'dnatMap' && r.verdict.entries.length === 1)))
    return '1.36';
  return '1.36+';
}

/** nfacct counters kube-proxy's iptables rules gained by release (PR #122812, #125015). */
export const INVALID_DROP_NFACCT = 'ct_state_invalid_dropped_pkts';
export const LOCALHOST_NODEPORT_NFACCT = 'localhost_nps_accepted_pkts';

/**
 * iptables text: '1.31+' with the localhost NodePort counter; '1.30' with the INVALID drop
 * counter and localhost NodePorts that have none, '1.30+' when no localhost NodePort tells;
 * '<1.30' when the INVALID drop has no counter at all (which a node without nfacct also
 * writes); undefined without an INVALID drop rule to tell by.
 */
export function detectIptablesRelease(text: string): DetectedRelease | undefined {
  if (text.includes(LOCALHOST_NODEPORT_NFACCT)) return '1.31+';
  const localhostNodePorts = text.includes('block incoming localnet connections') && /^-A KUBE-NODEPORTS .*-j KUBE-(EXT|SVC)-/m.test(text);
  if (text.includes(INVALID_DROP_NFACCT)) return localhostNodePorts ? '1.30' : '1.30+';
  if (/--ctstate INVALID -j DROP/.test(text)) return '<1.30';
  return undefined;
}

/** Whether two detected releases write differently shaped rules. */
export function releasesDiffer(a: DetectedRelease, b: DetectedRelease): boolean {
  if (a === b) return false;
  // A v1.36 shape may be v1.36 or later; v1.30+ and v1.31+ may be one release without localhost NodePorts.
  const alike = (x: string, y: string) => (x === '1.36' && y === '1.36+') || (x === '1.30+' && (y === '1.30' || y === '1.31+'));
  return !alike(a, b) && !alike(b, a);
}

/** How a detected release reads in a note. */
export function describeRelease(r: DetectedRelease): string {
  if (r === '<1.30') return 'before v1.30 (or without nfacct)';
  return r.endsWith('+') ? `v${r.slice(0, -1)} or later` : `v${r}`;
}
