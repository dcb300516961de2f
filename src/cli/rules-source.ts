// The rules apply loads from a rules file, for either backend (from manifests: apply/sources.ts).
import { UsageError } from '../errors.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import type { ProxyOptions } from '../model/options.js';
import { KUBE_NODEPORTS, KUBE_SERVICES, SERVICE_CHAIN_PREFIXES } from '../backends/iptables/names.js';
import { guessIptablesFamily, parseIptables } from '../parse/iptables.js';
import type { RulesSource } from '../apply/execute.js';
import { readTextFile } from './io.js';
import type { Host } from '../host.js';

/** A rules file as given; stale service chains on the node are still deleted, as kube-proxy would. */
export function fileSource(host: Host, file: string, mode: ProxyOptions['proxyMode'], family: 'ipv4' | 'ipv6' | undefined): RulesSource {
  const text = readTextFile(host, file);
  if (mode === 'nftables') {
    const fam = family ?? (/^\s*(add\s+)?table\s+ip6\s/m.test(text) ? 'ipv6' : 'ipv4');
    return { backend: 'nftables', family: fam, payload: text };
  }
  const fam = family ?? guessIptablesFamily(text);
  const parsed = parseIptables(text, fam);
  if (!parsed.tables.some((t) => t.name === 'nat' || t.name === 'filter')) throw new UsageError(`${file}: no *filter or *nat table: not an iptables-restore file`);
  return { backend: 'iptables', family: fam, build: ({ previousNatChains }) => ({ ruleset: withStaleChains(parsed, previousNatChains), notes: [] }) };
}

/**
 * kube-proxy's stale-chain deletion for a rule set it did not compile: flush and -X them. Only
 * for a full payload: the chains that jump to service chains (KUBE-SERVICES, KUBE-NODEPORTS)
 * must be rewritten in the same restore, or the kernel refuses to delete what they still use.
 */
function withStaleChains(rs: IptablesRuleset, previous: string[]): IptablesRuleset {
  const nat = rs.tables.find((t) => t.name === 'nat');
  if (!nat) return rs;
  const declared = new Set(nat.chains.map((c) => c.name));
  if (!declared.has(KUBE_SERVICES) || !declared.has(KUBE_NODEPORTS)) return rs;
  const stale = previous.filter((c) => !declared.has(c) && !nat.deleted.includes(c) && SERVICE_CHAIN_PREFIXES.some((p) => c.startsWith(p))).sort();
  if (stale.length === 0) return rs;
  const table = { ...nat, chains: [...nat.chains, ...stale.map((name) => ({ name, rules: [] }))], deleted: [...nat.deleted, ...stale] };
  return { ...rs, tables: rs.tables.map((t) => (t === nat ? table : t)) };
}
