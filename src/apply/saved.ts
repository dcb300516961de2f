// A node's iptables-save, read only as far as apply needs: which chains exist, their policy,
// and each rule line exactly as saved. The node's rules include other software's (Docker,
// CNI plugins, firewalls) with match modules the IR does not know, so nothing here parses a
// rule unless asked, and a line that cannot be parsed is simply not one of kube-proxy's.
import type { Rule } from '../ir/iptables.js';
import { BUILTIN_CHAINS } from '../ir/iptables.js';
import { parseRuleWords, tokenize } from '../parse/iptables.js';

export interface SavedChain {
  name: string;
  /** Built-in chains only. */
  policy?: string;
  /** Rule bodies (the text after `-A CHAIN `), in kernel order. */
  rules: string[];
}

export interface SavedTable {
  name: string;
  chains: Map<string, SavedChain>;
}

export interface SavedRules {
  family: 'ipv4' | 'ipv6';
  tables: Map<string, SavedTable>;
}

export function readSaved(text: string, family: 'ipv4' | 'ipv6'): SavedRules {
  const tables = new Map<string, SavedTable>();
  let table: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = { name: line.slice(1), chains: new Map() };
      tables.set(table.name, table);
      continue;
    }
    if (!table) continue;
    if (line === 'COMMIT') {
      table = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      if (!name) continue;
      const c: SavedChain = policy && policy !== '-' ? { name, policy, rules: [] } : { name, rules: [] };
      table.chains.set(name, c);
      continue;
    }
    const m = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const chain = table.chains.get(m[1]!) ?? { name: m[1]!, rules: [] };
    table.chains.set(chain.name, chain);
    chain.rules.push(m[2] ?? '');
  }
  return { family, tables };
}

export function isBuiltin(table: string, chain: string): boolean {
  return BUILTIN_CHAINS[table]?.includes(chain) ?? false;
}

export function savedChain(s: SavedRules, table: string, chain: string): SavedChain | undefined {
  return s.tables.get(table)?.chains.get(chain);
}

/** The rule a saved line holds, or undefined when it uses something the IR does not read. */
export function parseSavedRule(body: string): Rule | undefined {
  try {
    return parseRuleWords(tokenize(body, 0), 0, body);
  } catch {
    return undefined;
  }
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
