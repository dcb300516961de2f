// Reads iptables-save / restore text into the IR like parse/iptables.ts's parseIptables, with
// one difference that matters for diff: a rule line seen before (on either side) is not parsed
// again, and both sides then share the same Rule object. The two rule sets of a diff are mostly
// the same lines, so the second side costs a lookup per line and normalize.ts's per-Rule cache
// pays off across sides. The grammar of a rule line stays in parse/iptables.ts (tokenize,
// parseRuleWords); only the framing (tables, declarations, COMMIT, -X) is repeated here.
import { RuleError } from '../errors.js';
import type { Chain, IptablesRuleset, Rule, Table } from '../ir/iptables.js';
import { parseRuleWords, tokenize } from '../parse/iptables.js';

/** Rule text after `-A CHAIN ` → its parsed rule, shared between the two sides of a diff. */
export type RuleCache = Map<string, Rule>;

function words(body: string, lineNo: number): string[] {
  // Most lines have no quotes, escapes or runs of blanks: a plain split gives what tokenize
  // would, several times faster.
  if (!/["\\\t]|  /.test(body)) return body === '' ? [] : body.split(' ');
  return tokenize(body, lineNo);
}

export function readIptablesRules(text: string, family: 'ipv4' | 'ipv6', cache: RuleCache = new Map()): IptablesRuleset {
  const tables: Table[] = [];
  let table: Table | undefined;
  let chains = new Map<string, Chain>();
  let start = 0;
  let lineNo = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line[0] === '#') continue;
    const c = line[0];
    if (c === '*') {
      if (table) throw new RuleError(`line ${lineNo}: table ${line.slice(1)} starts before COMMIT of ${table.name}`);
      table = { name: line.slice(1), chains: [], deleted: [] };
      chains = new Map();
      continue;
    }
    if (!table) throw new RuleError(`line ${lineNo}: rule outside a table (missing *filter / *nat): ${line}`);
    if (line === 'COMMIT') {
      tables.push(table);
      table = undefined;
      continue;
    }
    if (c === ':') {
      const m = /^:(\S+)\s+(\S+)/.exec(line);
      if (!m) throw new RuleError(`line ${lineNo}: bad chain declaration: ${line}`);
      if (!chains.has(m[1]!)) {
        const chain: Chain = m[2] === '-' ? { name: m[1]!, rules: [] } : { name: m[1]!, policy: m[2]!, rules: [] };
        chains.set(chain.name, chain);
        table.chains.push(chain);
      }
      continue;
    }
    let rest = line;
    if (c === '[') rest = rest.replace(/^\[\d+:\d+\]\s+/, ''); // iptables-save -c counters
    const op = /^(-A|--append|-X|--delete-chain)\s+(\S+)\s*/.exec(rest);
    if (!op) throw new RuleError(`line ${lineNo}: expected -A, -X, a chain or COMMIT: ${line}`);
    const name = op[2]!;
    if (op[1] === '-X' || op[1] === '--delete-chain') {
      table.deleted.push(name);
      continue;
    }
    const chain = chains.get(name);
    if (!chain) throw new RuleError(`line ${lineNo}: chain ${name} is not declared in table ${table.name}`);
    const body = rest.slice(op[0].length);
    let rule = cache.get(body);
    if (!rule) {
      rule = parseRuleWords(words(body, lineNo), lineNo, line);
      cache.set(body, rule);
    }
    chain.rules.push(rule);
  }
  if (table) throw new RuleError(`table ${table.name} has no COMMIT`);
  return { family, tables };
}
