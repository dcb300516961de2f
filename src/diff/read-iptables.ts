// Reading iptables-save / restore text for diff. Like parse/iptables.ts's parseIptables, whose
// line grammar (tokenize, parseRuleWords) it uses, with three differences that matter here:
//  - text seen before, on either side, is not parsed again, and both sides then share the same
//    Rule objects (and, for a chain written in one run of lines, the same array), so compare
//    can tell unchanged chains by identity;
//  - what the rule-line parser cannot read stays opaque, in any chain (a node's dump holds
//    Calico's and Docker's rules too, and old kube-proxy versions wrote modules it does not read);
//  - a raw form (tables, chains, rule lines, nothing parsed) for the pair reader in
//    prefilter.ts, which parses only what can differ.
import type { Family } from '../util/ip.js';
import { RuleError } from '../errors.js';
import type { Chain, IptablesRuleset, Rule, Table } from '../ir/iptables.js';
import { parseRuleWords, tokenize } from '../parse/iptables.js';

/** Shared between the two sides of a diff. Cached arrays are never to be modified. */
export interface RuleCache {
  /** Rule text after `-A CHAIN ` → its rule. */
  lines: Map<string, Rule>;
  /** A run's text (its lines, `-A CHAIN` included) → its rules. */
  runs: Map<string, Rule[]>;
}

export function newRuleCache(): RuleCache {
  return { lines: new Map(), runs: new Map() };
}

function words(body: string, lineNo: number): string[] {
  // Most lines have no quotes, escapes or runs of blanks: a plain split gives what tokenize
  // would, several times faster.
  if (!/["\\\t]| {2}/.test(body)) return body === '' ? [] : body.split(' ');
  return tokenize(body, lineNo);
}

/**
 * One rule line's body (after `-A CHAIN `), parsed once per text. parse/iptables.ts's rule-line
 * parser keeps what it cannot read as opaque parts; a line it cannot even split into words (a
 * quote that never closes) is one opaque rule, the same on both sides.
 */
function parseLine(_table: string, _chain: string, body: string, lineNo: number, line: string, cache: RuleCache): Rule {
  let rule = cache.lines.get(body);
  if (rule) return rule;
  try {
    rule = parseRuleWords(words(body, lineNo), lineNo, line, body);
  } catch {
    rule = { matches: [{ kind: 'other', text: body }], source: { line: lineNo, text: line } };
  }
  cache.lines.set(body, rule);
  return rule;
}

export function readIptablesRules(text: string, family: Family, cache: RuleCache = newRuleCache()): IptablesRuleset {
  const tables: Table[] = [];
  let table: Table | undefined;
  let chains = new Map<string, Chain>();

  // The run being collected: lines [runStart, runEnd) of text, all `-A ${runName} ...`.
  let run: Chain | undefined;
  let runName = '';
  let runStart = 0;
  let runEnd = 0;
  let runLine = 0;
  const shared = new Set<Chain>();
  const filled = new Set<Chain>();

  const append = (chain: Chain, rules: Rule[]) => {
    // A chain made of one run holds the cached array itself, so that a chain unchanged between
    // the two sides is the same array on both; a second run for it makes it a copy first.
    if (chain.rules.length === 0 && !filled.has(chain)) {
      chain.rules = rules;
      shared.add(chain);
    } else {
      if (shared.has(chain)) {
        chain.rules = [...chain.rules];
        shared.delete(chain);
      }
      for (const r of rules) chain.rules.push(r);
    }
    filled.add(chain);
  };

  const flush = () => {
    if (!run) return;
    const key = text.slice(runStart, runEnd);
    let rules = cache.runs.get(key);
    if (!rules) {
      rules = [];
      const prefix = runName.length + 4; // "-A " + name + " "
      let lineNo = runLine;
      for (const raw of key.split('\n')) {
        const line = raw.trim();
        rules.push(parseLine(table!.name, runName, line.length > prefix ? line.slice(prefix) : '', lineNo, line, cache));
        lineNo++;
      }
      cache.runs.set(key, rules);
    }
    append(run, rules);
    run = undefined;
  };

  let start = 0;
  let lineNo = 0;
  const length = text.length;
  while (start <= length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = length;
    lineNo++;
    const lineStart = start;
    start = end + 1;
    // The common case, without slicing the line: `-A NAME ...` continuing the current run.
    if (text.charCodeAt(lineStart) === 45 && text.charCodeAt(lineStart + 1) === 65 && text.charCodeAt(lineStart + 2) === 32) {
      if (
        run &&
        text.charCodeAt(lineStart + 3 + runName.length) === 32 &&
        text.slice(lineStart + 3, lineStart + 3 + runName.length) === runName
      ) {
        runEnd = end;
        continue;
      }
      let sp = text.indexOf(' ', lineStart + 3);
      if (sp < 0 || sp > end) sp = end;
      const name = text.slice(lineStart + 3, sp).replace(/\r$/, '');
      if (name !== '' && table) {
        flush();
        const chain = chains.get(name);
        if (!chain) throw new RuleError(`line ${lineNo}: chain ${name} is not declared in table ${table.name}`);
        run = chain;
        runName = name;
        runStart = lineStart;
        runEnd = end;
        runLine = lineNo;
        continue;
      }
    }
    flush();
    const line = text.slice(lineStart, end).trim();
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
    // Anything else a rule line can look like: counters, --append, indented, -X.
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
    append(chain, [parseLine(table.name, name, rest.slice(op[0].length), lineNo, line, cache)]);
  }
  flush();
  if (table) throw new RuleError(`table ${table.name} has no COMMIT`);
  return { family, tables };
}

/** A chain as text: its declaration and its rule lines, unparsed. */
export interface RawChain {
  name: string;
  policy: string | undefined;
  /** Position among the table's declarations. */
  index: number;
  /** Runs of its rule lines in the text: [start, end) offsets and the first line's number. */
  runs: { start: number; end: number; line: number }[];
}

interface RawTable {
  name: string;
  chains: Map<string, RawChain>;
  /** In declaration order. */
  order: RawChain[];
  deleted: string[];
}

export interface RawRuleset {
  family: Family;
  text: string;
  tables: RawTable[];
}

/** The rule lines of a raw chain, as one string (for comparing chains by their text). */
export function rawText(raw: RawRuleset, c: RawChain): string {
  if (c.runs.length === 1) return raw.text.slice(c.runs[0]!.start, c.runs[0]!.end);
  return c.runs.map((r) => raw.text.slice(r.start, r.end)).join('\n');
}

/** Whether two raw chains hold the same rule text. */
export function sameRawText(a: RawRuleset, x: RawChain, b: RawRuleset, y: RawChain): boolean {
  if (x.runs.length === 1 && y.runs.length === 1) {
    const rx = x.runs[0]!;
    const ry = y.runs[0]!;
    if (rx.end - rx.start !== ry.end - ry.start) return false;
    // Two slices compared with === is many times faster in V8 than startsWith(slice, at).
    return a.text.slice(rx.start, rx.end) === b.text.slice(ry.start, ry.end);
  }
  return rawText(a, x) === rawText(b, y);
}

/**
 * The text split into tables, chains and runs of rule lines, nothing parsed; undefined when a
 * line is in any form but the plain ones iptables-save and kube-proxy write (the caller then
 * reads the text the full way, which also reports what is wrong with it).
 */
export function rawIptables(text: string, family: Family): RawRuleset | undefined {
  const tables: RawTable[] = [];
  let table: RawTable | undefined;
  let run: { start: number; end: number; line: number } | undefined;
  let current: RawChain | undefined;
  let start = 0;
  let lineNo = 0;
  const length = text.length;
  // Whether the line at `at` appends to `c`: "-A NAME " or "-A NAME" alone.
  const appendsTo = (c: RawChain, at: number, end: number) => {
    const after = at + 3 + c.name.length;
    // slice + === rather than startsWith(name, at): much faster on a large text in V8.
    return (after === end || text.charCodeAt(after) === 32) && text.slice(at + 3, after) === c.name;
  };
  while (start <= length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = length;
    lineNo++;
    const lineStart = start;
    start = end + 1;
    if (text.charCodeAt(lineStart) === 45 && text.charCodeAt(lineStart + 1) === 65 && text.charCodeAt(lineStart + 2) === 32) {
      if (!table || text.charCodeAt(end - 1) === 13) return undefined;
      if (run && current && appendsTo(current, lineStart, end)) {
        run.end = end;
        continue;
      }
      // iptables-save and kube-proxy write the rules in the order the chains are declared:
      // try the next few declared chains before looking the name up.
      let chain: RawChain | undefined;
      const from = current && current.index + 1 < table.order.length ? current.index + 1 : 0;
      for (let k = from; k < from + 4 && k < table.order.length; k++) {
        if (appendsTo(table.order[k]!, lineStart, end)) {
          chain = table.order[k];
          break;
        }
      }
      if (!chain) {
        let sp = text.indexOf(' ', lineStart + 3);
        if (sp < 0 || sp > end) sp = end;
        chain = table.chains.get(text.slice(lineStart + 3, sp));
        if (!chain) return undefined;
      }
      run = { start: lineStart, end, line: lineNo };
      current = chain;
      chain.runs.push(run);
      continue;
    }
    run = undefined;
    const line = text.slice(lineStart, end);
    if (line === '' || line[0] === '#') continue;
    if (line[0] === '*' && !table) {
      table = { name: line.slice(1), chains: new Map(), order: [], deleted: [] };
      current = undefined;
      continue;
    }
    if (!table) return undefined;
    if (line === 'COMMIT') {
      tables.push(table);
      table = undefined;
      continue;
    }
    if (line[0] === ':') {
      // ":NAME POLICY [p:b]", split by hand: there is one per chain, 100,000 in a large dump.
      const sp1 = line.indexOf(' ');
      const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
      if (sp2 < 0 || line[sp2 + 1] !== '[' || !line.endsWith(']') || sp1 < 2) return undefined;
      const name = line.slice(1, sp1);
      const policy = line.slice(sp1 + 1, sp2);
      if (!table.chains.has(name)) {
        const c: RawChain = { name, policy: policy === '-' ? undefined : policy, index: table.order.length, runs: [] };
        table.chains.set(name, c);
        table.order.push(c);
      }
      continue;
    }
    const del = /^-X (\S+)$/.exec(line);
    if (del) {
      table.deleted.push(del[1]!);
      continue;
    }
    return undefined;
  }
  if (table) return undefined;
  return { family, text, tables };
}

const materialized = new WeakMap<RawChain, Rule[]>();

/** The rules of one raw chain (parsed once, through the shared line cache). */
export function rawRules(raw: RawRuleset, table: string, c: RawChain, cache: RuleCache): Rule[] {
  let rules = materialized.get(c);
  if (rules) return rules;
  rules = [];
  const prefix = c.name.length + 4; // "-A " + name + " "
  for (const r of c.runs) {
    let lineNo = r.line;
    for (const line of raw.text.slice(r.start, r.end).split('\n')) {
      rules.push(parseLine(table, c.name, line.length > prefix ? line.slice(prefix) : '', lineNo, line, cache));
      lineNo++;
    }
  }
  materialized.set(c, rules);
  return rules;
}

/**
 * The IR of some chains: in every table those `always` selects (by table name, chain), plus in
 * any table the chains named in `also`. Every other chain is left out entirely.
 */
export function materialize(
  raw: RawRuleset,
  always: (table: string, chain: string) => boolean,
  also: Iterable<string>,
  cache: RuleCache,
): IptablesRuleset {
  const extra = [...also];
  const tables: Table[] = raw.tables.map((t) => {
    const picked = new Set<RawChain>();
    for (const c of fixedChains(t, always)) picked.add(c);
    for (const name of extra) {
      const c = t.chains.get(name);
      if (c) picked.add(c);
    }
    const chains: Chain[] = [...picked]
      .sort((x, y) => x.index - y.index)
      .map((c) => {
        const rules = rawRules(raw, t.name, c, cache);
        return c.policy === undefined ? { name: c.name, rules } : { name: c.name, policy: c.policy, rules };
      });
    return { name: t.name, chains, deleted: [...t.deleted] };
  });
  return { family: raw.family, tables };
}

const fixedCache = new WeakMap<RawTable, RawChain[]>();
function fixedChains(t: RawTable, always: (table: string, chain: string) => boolean): RawChain[] {
  let list = fixedCache.get(t);
  if (!list) fixedCache.set(t, (list = t.order.filter((c) => always(t.name, c.name))));
  return list;
}
