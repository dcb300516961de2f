// The rules apply loads from a rules file, for either backend (from manifests: apply/sources.ts).
import type { Family } from '../util/ip.js';
import { UsageError } from '../errors.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import type { ProxyOptions } from '../model/options.js';
import { KUBE_NODEPORTS, KUBE_SERVICES, SERVICE_CHAIN_PREFIXES } from '../backends/iptables/names.js';
import { readRules } from '../parse/read.js';
import { excerpt } from '../util/text.js';
import type { RulesSource } from '../apply/execute.js';
import { readTextFile } from './io.js';
import type { Host } from '../host.js';

/**
 * A rules file as given, in the format its content says (whatever --proxy-mode says); stale
 * service chains on the node are still deleted, as kube-proxy would. A file cut short is
 * refused: loading half a rule set would leave the node with less than either state.
 * Undefined: the file holds manifests (the caller compiles them).
 */
export function fileSource(host: Host, file: string, mode: ProxyOptions['proxyMode'], family: Family | undefined): RulesSource | undefined {
  const text = readTextFile(host, file);
  const read = readRules(text, file, family);
  if (read.kind === 'manifests') return undefined;
  for (const n of read.notes) host.stderr.write(`ktables: note: ${file}: ${n}\n`);
  if (read.warnings.length > 0) throw new UsageError(`${file}: ${read.warnings[0]}: apply loads only a complete rule set`);
  if (read.kind === 'nftables') {
    const fam = family ?? (/^\s*(add\s+)?table\s+ip6\s/m.test(read.text) ? 'ipv6' : 'ipv4');
    return { backend: 'nftables', family: fam, payload: read.text };
  }
  void mode;
  const parsed = read.ruleset;
  for (const t of parsed.tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        // A NAT target whose address did not survive (iptables binaries of two versions on one
        // node): iptables-restore refuses the whole payload, so say which line first.
        if (
          r.target?.kind === 'other' &&
          /^-j\s+(DNAT|SNAT)\b/.test(r.target.text) &&
          !/--to-(destination|source)\s+[^\s-]/.test(r.target.text)
        ) {
          throw new UsageError(
            `${file}: line ${r.source?.line ?? '?'}: ${t.name} ${c.name}: the NAT target has no readable address (${excerpt(r.target.text, 80)}): iptables-restore would refuse the rule set`,
          );
        }
      }
    }
  }
  const sets = new Set<string>();
  for (const t of parsed.tables)
    for (const c of t.chains)
      for (const r of c.rules)
        for (const m of r.matches) if (m.kind === 'other') for (const x of m.text.matchAll(/--match-set\s+(\S+)/g)) sets.add(x[1]!);
  if (sets.size > 0)
    host.stderr.write(
      `ktables: note: ${file}: the rules match ipsets (${[...sets].map((x) => excerpt(x, 40)).join(', ')}): iptables-restore needs them on the target\n`,
    );
  if (parsed.tables.length === 0) throw new UsageError(`${file}: no table: nothing to apply`);
  return {
    backend: 'iptables',
    family: parsed.family,
    build: ({ previousNatChains }) => ({ ruleset: withStaleChains(parsed, previousNatChains), notes: [] }),
  };
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
  const stale = previous
    .filter((c) => !declared.has(c) && !nat.deleted.includes(c) && SERVICE_CHAIN_PREFIXES.some((p) => c.startsWith(p)))
    .sort();
  if (stale.length === 0) return rs;
  const table = { ...nat, chains: [...nat.chains, ...stale.map((name) => ({ name, rules: [] }))], deleted: [...nat.deleted, ...stale] };
  return { ...rs, tables: rs.tables.map((t) => (t === nat ? table : t)) };
}
