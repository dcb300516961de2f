// Turning an input into a DiffSide: which kind of rules a text holds, and the adapter for each
// backend. This is where the nftables IR plugs in (see nftablesSide below).
import { UsageError } from '../errors.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import { guessIptablesFamily } from '../parse/iptables.js';
import { iptablesSide } from './iptables.js';
import { readIptablesPair } from './prefilter.js';
import { newRuleCache, readIptablesRules, type RuleCache } from './read-iptables.js';
import type { Backend, DiffSide, Family } from './types.js';

/**
 * The kind of rule set a text holds, by its first line that is neither blank nor a `#`
 * comment: `*table` is iptables-save / iptables-restore text; `table ...` (nft list ruleset)
 * or `add ...` / `flush ...` / `delete ...` / `create ...` (nft -f input, knftables' dump) is
 * nftables. Anything else (YAML, JSON) is not a rule set.
 */
export function detectRules(text: string): Backend | undefined {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) return 'iptables';
    if (/^(table|add|flush|delete|create|destroy)\s/.test(line)) return 'nftables';
    return undefined;
  }
  return undefined;
}

/** State shared by the two sides of one diff, so identical lines are read only once. */
export interface ReadContext {
  iptables: RuleCache;
}

export function newReadContext(): ReadContext {
  return { iptables: newRuleCache() };
}

export function familyOfRules(kind: Backend, text: string): Family {
  if (kind === 'iptables') {
    // The first address in the rules tells; only a rule set without any reads the whole text.
    const m = /\s-[sd]\s+(?:!\s*)?([0-9a-fA-F.:]+)|--to-destination\s+(\[)/.exec(text);
    if (m) return m[2] || m[1]!.includes(':') ? 'ipv6' : 'ipv4';
    return guessIptablesFamily(text);
  }
  return /^\s*(add\s+)?table\s+ip6\s/m.test(text) ? 'ipv6' : 'ipv4';
}

export function rulesSide(kind: Backend, text: string, ctx: ReadContext, family: Family = familyOfRules(kind, text)): DiffSide {
  if (kind === 'iptables') return iptablesSide(readIptablesRules(text, family, ctx.iptables));
  return nftablesSide();
}

/**
 * Both sides at once, when both are rule files: reads only what can differ (prefilter.ts), so
 * two large, mostly equal rule sets diff in a fraction of the time.
 */
export function rulesSidesPair(kind: Backend, oldText: string, newText: string, ctx: ReadContext, families?: [Family, Family]): [DiffSide, DiffSide] {
  const fam = families ?? [familyOfRules(kind, oldText), familyOfRules(kind, newText)];
  if (kind !== 'iptables') return [rulesSide(kind, oldText, ctx, fam[0]), rulesSide(kind, newText, ctx, fam[1])];
  const [a, b] = readIptablesPair(oldText, newText, fam, ctx.iptables);
  return [iptablesSide(a), iptablesSide(b)];
}

export function compiledIptablesSide(rs: IptablesRuleset): DiffSide {
  return iptablesSide(rs);
}

/**
 * Extension point for nftables: an adapter from the nftables IR (src/ir/nftables.ts, read by
 * src/parse/nftables.ts or built by src/backends/nftables) to a DiffSide, mapping
 * service-HASH-ns/name/proto/port, endpoint-HASH-..., external-/firewall- chains and the
 * service-ips / service-nodeports / no-endpoint-* / firewall-ips elements to service ports
 * (element order is not a difference: sort each service's elements). compare.ts and the
 * formats need nothing else.
 */
export function nftablesSide(): never {
  throw new UsageError('diff of nftables rule sets is not available in this build yet (iptables only)');
}
