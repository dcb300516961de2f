// A node's iptables-save, read only as far as apply needs: which chains exist, their policy,
// and each rule line exactly as saved. The node's rules include other software's (Docker,
// CNI plugins, firewalls) with match modules the IR does not know, so nothing here parses a
// rule unless asked, and a line with a part the IR cannot hold is simply not one of kube-proxy's.
import type { Family } from '../util/ip.js';
import type { Rule } from '../ir/iptables.js';
import { BUILTIN_CHAINS } from '../ir/iptables.js';
import { isOpaque, parseRuleBody } from '../parse/iptables.js';
import { scanRules } from '../parse/scan.js';

export interface SavedChain {
  name: string;
  /** Built-in chains only. */
  policy?: string;
  /** Rule bodies (the text after `-A CHAIN `), in kernel order. */
  rules: string[];
}

interface SavedTable {
  name: string;
  chains: Map<string, SavedChain>;
}

export interface SavedRules {
  family: Family;
  tables: Map<string, SavedTable>;
}

/** The node's iptables-save, through the one scanner every command uses (parse/scan.ts). */
export function readSaved(text: string, family: Family): SavedRules {
  const tables = new Map<string, SavedTable>();
  for (const t of scanRules(text).tables ?? []) {
    const chains = new Map<string, SavedChain>();
    for (const c of t.chains)
      chains.set(c.name, { ...(c.policy ? { policy: c.policy } : {}), name: c.name, rules: c.rules.map((r) => r.body) });
    tables.set(t.name, { name: t.name, chains });
  }
  return { family, tables };
}

export function isBuiltin(table: string, chain: string): boolean {
  return BUILTIN_CHAINS[table]?.includes(chain) ?? false;
}

export function savedChain(s: SavedRules, table: string, chain: string): SavedChain | undefined {
  return s.tables.get(table)?.chains.get(chain);
}

/** The rule a saved line holds, or undefined when any part of it is opaque to the IR. */
export function parseSavedRule(body: string): Rule | undefined {
  const rule = parseRuleBody(body, 0, body);
  return isOpaque(rule) ? undefined : rule;
}

/** The dump with counters zeroed and comment lines dropped: what "the same rules" means. */
export function comparableSave(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}

/** Only built-in chains, none with a rule or a policy other than ACCEPT: a table nobody uses. */
export function isUnusedTable(s: SavedRules, table: string): boolean {
  const t = s.tables.get(table);
  if (!t) return false;
  return [...t.chains.values()].every((c) => isBuiltin(table, c.name) && c.rules.length === 0 && (c.policy ?? 'ACCEPT') === 'ACCEPT');
}

/** Back to iptables-save text (counters zeroed), e.g. for a state computed rather than read. */
export function savedText(s: SavedRules): string {
  let out = '';
  for (const [name, t] of s.tables) {
    out += `*${name}\n`;
    for (const c of t.chains.values()) out += `:${c.name} ${c.policy ?? '-'} [0:0]\n`;
    for (const c of t.chains.values()) for (const body of c.rules) out += body ? `-A ${c.name} ${body}\n` : `-A ${c.name}\n`;
    out += 'COMMIT\n';
  }
  return out;
}
