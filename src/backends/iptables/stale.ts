// kube-proxy's stale-chain deletion: per-service nat chains on the node (from its iptables-save)
// that the new rules do not write are declared, flushed and deleted in the same restore. One
// rule for both a compiled rule set (compile.ts) and a rules file apply loads as given.
import type { IptablesRuleset } from '../../ir/iptables.js';
import { KUBE_NODEPORTS, KUBE_SERVICES, SERVICE_CHAIN_PREFIXES } from '../../kubeproxy/iptables-names.js';

/** The chains of PREVIOUS to delete, sorted: kube-proxy's per-service chains not written now. */
export function staleServiceChains(previous: Iterable<string>, written: (chain: string) => boolean): string[] {
  return [...new Set(previous)].filter((c) => !written(c) && SERVICE_CHAIN_PREFIXES.some((p) => c.startsWith(p))).sort();
}

/**
 * A rule set compiled elsewhere with the stale chains added. Only for a full payload: the chains
 * that jump to service chains (KUBE-SERVICES, KUBE-NODEPORTS) must be rewritten in the same
 * restore, or the kernel refuses to delete what they still use.
 */
export function withStaleChains(rs: IptablesRuleset, previous: string[]): IptablesRuleset {
  const nat = rs.tables.find((t) => t.name === 'nat');
  if (!nat) return rs;
  const declared = new Set(nat.chains.map((c) => c.name));
  if (!declared.has(KUBE_SERVICES) || !declared.has(KUBE_NODEPORTS)) return rs;
  const stale = staleServiceChains(previous, (c) => declared.has(c) || nat.deleted.includes(c));
  if (stale.length === 0) return rs;
  const table = { ...nat, chains: [...nat.chains, ...stale.map((name) => ({ name, rules: [] }))], deleted: [...nat.deleted, ...stale] };
  return { ...rs, tables: rs.tables.map((t) => (t === nat ? table : t)) };
}
