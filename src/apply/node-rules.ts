// A node's iptables as apply sees them: iptables-save output read by the one reader every
// command uses (parse/), into the rule-set IR. Rules of other software (Docker, CNI plugins,
// firewalls) keep the parts the IR does not know as opaque text, and every rule keeps the line
// iptables-save printed, so what apply writes back (-D, a rollback) is the node's own spelling.
import { RuleError, SystemError } from '../errors.js';
import type { Chain, IptablesRuleset, Rule } from '../ir/iptables.js';
import { BUILTIN_CHAINS, findChain, findTable } from '../ir/iptables.js';
import { formatRuleBody } from '../emit/iptables.js';
import { readIptables } from '../parse/iptables.js';

import type { Family } from '../util/ip.js';

/** No tables at all: a node nothing has touched. */
const noRules = (family: Family): IptablesRuleset => ({ family, tables: [] });

/**
 * `tool`'s output read into the IR. A dump the reader had to guess about (cut short, a line it
 * could not place) is an error: a backup or rollback built on half a state would be wrong.
 */
export function readNodeRules(text: string, family: Family, tool: string): IptablesRuleset {
  // A node without a single table (a fresh network namespace) prints nothing, or comments.
  if (text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'))) return noRules(family);
  let read;
  try {
    read = readIptables(text, family);
  } catch (e) {
    if (e instanceof RuleError) throw new SystemError(`${tool} printed rules ktables cannot read: ${e.message}`);
    throw e;
  }
  if (read.warnings.length > 0) throw new SystemError(`${tool} printed an incomplete rule set: ${read.warnings.join('; ')}`);
  return read.ruleset;
}

export function isBuiltin(table: string, chain: string): boolean {
  return BUILTIN_CHAINS[table]?.includes(chain) ?? false;
}

export function chainOf(rs: IptablesRuleset, table: string, chain: string): Chain | undefined {
  return findChain(findTable(rs, table), chain);
}

/** chainOf for many look-ups: a node has tens of thousands of chains. */
export function chainIndex(rs: IptablesRuleset): (table: string, chain: string) => Chain | undefined {
  const byName = new Map<string, Chain>();
  for (const t of rs.tables) for (const c of t.chains) byName.set(`${t.name}/${c.name}`, c);
  return (table, chain) => byName.get(`${table}/${chain}`);
}

/**
 * The rule's text after `-A CHAIN `: the node's own line when it was read from one, else as
 * ktables prints it. Two rules with the same body are the same rule to iptables.
 */
export function ruleBody(chain: string, rule: Rule): string {
  const line = rule.source?.text;
  if (line !== undefined) {
    const head = `-A ${chain}`;
    if (line === head) return '';
    if (line.startsWith(`${head} `)) return line.slice(head.length + 1).trim();
  }
  return formatRuleBody(rule);
}

export const chainBodies = (c: Chain | undefined): string[] => (c ? c.rules.map((r) => ruleBody(c.name, r)) : []);

/** Only built-in chains, none with a rule or a policy other than ACCEPT: a table nobody uses. */
export function isUnusedTable(rs: IptablesRuleset, table: string): boolean {
  const t = findTable(rs, table);
  if (!t) return false;
  return t.chains.every((c) => isBuiltin(table, c.name) && c.rules.length === 0 && (c.policy ?? 'ACCEPT') === 'ACCEPT');
}

/** The same tables, chains, policies and rules (counters and comment lines of the dump aside). */
export function sameRules(a: IptablesRuleset, b: IptablesRuleset): boolean {
  const shape = (rs: IptablesRuleset) => rs.tables.map((t) => [t.name, t.chains.map((c) => [c.name, c.policy ?? '-', chainBodies(c)])]);
  return JSON.stringify(shape(a)) === JSON.stringify(shape(b));
}
