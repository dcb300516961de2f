// The rules apply loads, from manifests (compiled once the node's state is known) or from a
// rules file, for either backend.
import { UsageError } from '../errors.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import type { ProxyModel } from '../model/types.js';
import type { ProxyOptions } from '../model/options.js';
import { compileIptables } from '../backends/iptables/compile.js';
import { SERVICE_CHAIN_PREFIXES } from '../backends/iptables/names.js';
import { compileNftables } from '../backends/nftables/compile.js';
import { emitNftables } from '../emit/nftables.js';
import { guessIptablesFamily, parseIptables } from '../parse/iptables.js';
import type { RulesSource } from '../apply/execute.js';
import { readTextFile } from './io.js';

/** Rules compiled from a model: iptables waits for the node's nat chains and nfacct support. */
export function modelSource(model: ProxyModel, mode: ProxyOptions['proxyMode']): RulesSource {
  const family = model.node.family;
  if (mode === 'nftables') return { backend: 'nftables', family, payload: emitNftables(compileNftables(model)) };
  return {
    backend: 'iptables',
    family,
    build: ({ previousNatChains, nfacct }) => {
      const m = model.node.nfacct && !nfacct ? { ...model, node: { ...model.node, nfacct: false } } : model;
      return { ruleset: compileIptables(m, { previousNatChains }), notes: [] };
    },
  };
}

/** A rules file as given; stale service chains on the node are still deleted, as kube-proxy would. */
export function fileSource(file: string, mode: ProxyOptions['proxyMode'], family: 'ipv4' | 'ipv6' | undefined): RulesSource {
  const text = readTextFile(file);
  if (mode === 'nftables') {
    const fam = family ?? (/^\s*(add\s+)?table\s+ip6\s/m.test(text) ? 'ipv6' : 'ipv4');
    return { backend: 'nftables', family: fam, payload: text };
  }
  const fam = family ?? guessIptablesFamily(text);
  const parsed = parseIptables(text, fam);
  if (!parsed.tables.some((t) => t.name === 'nat' || t.name === 'filter')) throw new UsageError(`${file}: no *filter or *nat table: not an iptables-restore file`);
  return { backend: 'iptables', family: fam, build: ({ previousNatChains }) => ({ ruleset: withStaleChains(parsed, previousNatChains), notes: [] }) };
}

/** kube-proxy's stale-chain deletion for a rule set it did not compile: flush and -X them. */
function withStaleChains(rs: IptablesRuleset, previous: string[]): IptablesRuleset {
  const nat = rs.tables.find((t) => t.name === 'nat');
  if (!nat) return rs;
  const declared = new Set(nat.chains.map((c) => c.name));
  const stale = previous.filter((c) => !declared.has(c) && !nat.deleted.includes(c) && SERVICE_CHAIN_PREFIXES.some((p) => c.startsWith(p))).sort();
  if (stale.length === 0) return rs;
  const table = { ...nat, chains: [...nat.chains, ...stale.map((name) => ({ name, rules: [] }))], deleted: [...nat.deleted, ...stale] };
  return { ...rs, tables: rs.tables.map((t) => (t === nat ? table : t)) };
}
