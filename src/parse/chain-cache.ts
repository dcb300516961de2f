// iptables text read chain by chain through a cache that two texts share (the two sides of a
// diff): scan.ts splits a text into tables, chains and rule lines, iptables.ts parses a line
// (what it cannot read stays opaque). A rule line seen before is not parsed again, and a chain
// whose lines are the same in both texts is the very same array of rules, so a comparison tells
// unchanged chains by identity and diff's pair reader parses only the chains that can differ.
import { RuleError } from '../errors.js';
import type { Chain, IptablesRuleset, Rule } from '../ir/iptables.js';
import { parseRuleBody } from './iptables.js';
import type { Family } from '../util/ip.js';
import { scanRules, type ScannedTable } from './scan.js';

export type ScannedChain = ScannedTable['chains'][number];

/** One run's cache (one diff); never share it between runs. Cached arrays are never to be modified. */
export interface RuleCache {
  /** Rule body (after `-A CHAIN `) → its rule. */
  lines: Map<string, Rule>;
  /** A chain's name and rule lines → its rules. */
  chains: Map<string, Rule[]>;
  /** A scanned chain → its rule lines as one text. */
  texts: WeakMap<ScannedChain, string>;
}

export function newRuleCache(): RuleCache {
  return { lines: new Map(), chains: new Map(), texts: new WeakMap() };
}

/** iptables text as tables of unparsed chains. */
export interface ScannedRules {
  family: Family;
  tables: ScannedTable[];
  /** Where the text was cut short or not understood (reported by the CLI when it read the file). */
  warnings: string[];
}

/** `tables`: the text already scanned (the CLI scans every file it reads), so it is not scanned twice. */
export function scanIptables(text: string, family: Family, tables?: ScannedTable[]): ScannedRules {
  if (tables) return { family, tables, warnings: [] };
  const scanned = scanRules(text);
  // A node with no rules at all (apply's "now" on a fresh host) is an empty rule set.
  if (!scanned.tables && /^(\s*(#.*)?\n?)*$/.test(scanned.text)) return { family, tables: [], warnings: [] };
  if (!scanned.tables) throw new RuleError(`not iptables rules (${scanned.format})`);
  return { family, tables: scanned.tables, warnings: scanned.warnings };
}

/**
 * A chain's rule lines as one text: chains with the same text have the same rules. Plain
 * iptables-save lines are compared as written (no split); other chains by their rule bodies,
 * marked so that the two forms never read alike.
 */
export function chainText(c: ScannedChain, cache: RuleCache): string {
  if (c.raw !== undefined) return c.raw;
  let t = cache.texts.get(c);
  if (t === undefined) cache.texts.set(c, (t = `\0${c.rules.map((r) => r.body).join('\n')}`));
  return t;
}

/**
 * Calls `f` with each rule body of a chain as `text.slice(start, end)`, without keeping the
 * rules: a plain chain's bodies are ranges of its text, nothing is split off.
 */
export function forEachBody(c: ScannedChain, f: (text: string, start: number, end: number) => void): void {
  const raw = c.raw;
  if (raw === undefined) {
    for (const { body } of c.rules) f(body, 0, body.length);
    return;
  }
  const skip = 3 + c.name.length + 1;
  for (let at = 0; at < raw.length;) {
    let nl = raw.indexOf('\n', at);
    if (nl < 0) nl = raw.length;
    // A plain line ends in a printable character; only the start of its body may need a trim.
    const first = raw.charCodeAt(at + skip);
    if (first <= 32 || first >= 127) {
      const body = raw.slice(at + skip, nl).trim();
      f(body, 0, body.length);
    } else f(raw, at + skip, nl);
    at = nl + 1;
  }
}

/** The rules of one chain, parsed once per run for the same name and text. */
export function chainRules(c: ScannedChain, cache: RuleCache): Rule[] {
  const key = `${c.name}\n${chainText(c, cache)}`;
  let rules = cache.chains.get(key);
  if (!rules) {
    rules = c.rules.map((r) => {
      let rule = cache.lines.get(r.body);
      if (!rule) cache.lines.set(r.body, (rule = parseRuleBody(r.body, r.line.line, r.line.text)));
      return rule;
    });
    cache.chains.set(key, rules);
  }
  return rules;
}

/** The IR of the chains `pick` selects (all of them by default); every other chain is left out. */
export function toRuleset(
  s: ScannedRules,
  cache: RuleCache,
  pick: (table: string, chain: string) => boolean = () => true,
): IptablesRuleset {
  return {
    family: s.family,
    tables: s.tables.map((t) => ({
      name: t.name,
      chains: t.chains
        .filter((c) => pick(t.name, c.name))
        .map((c): Chain => {
          const rules = chainRules(c, cache);
          return c.policy !== undefined ? { name: c.name, policy: c.policy, rules } : { name: c.name, rules };
        }),
      deleted: [...t.deleted],
    })),
  };
}

/** A whole rule set through the run's cache. */
export function readIptablesRules(text: string, family: Family, cache: RuleCache = newRuleCache()): IptablesRuleset {
  return toRuleset(scanIptables(text, family), cache);
}
