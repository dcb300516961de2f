// An iptables-save dump split into tables and chains by line ranges, without parsing a rule: a
// chain's rules are parsed the first time something asks for them. A trace walks a handful of
// the 100,000s of chains a big node's dump holds, so most rules are never parsed at all.
//
// Only a dump the full reader (scan.ts, iptables.ts) reads without a single warning is taken
// here: anything else (counters, a dump cut short, an undeclared chain, a line it does not
// know, blanks around a line ...) returns undefined and goes through the full reader, which
// says what it assumed. Where both read a text, they give the same chains and rules, and the
// notes cleanText gives (CRLF, a prompt, a fence) are passed on as the full reader passes them.
import type { Chain, IptablesRuleset, Rule, Table } from '../ir/iptables.js';
import type { Family } from '../util/ip.js';
import { dumpFamily, parseRuleBody } from './iptables.js';
import { cleanText, detectFormat } from './scan.js';

/** Where each rule line of a text starts and its line number, by the order of the lines. */
class RuleLines {
  starts = new Int32Array(1 << 16);
  lineNos = new Int32Array(1 << 16);
  count = 0;
  constructor(readonly text: string) {}
  add(start: number, lineNo: number): number {
    if (this.count === this.starts.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.lineNos = grow(this.lineNos);
    }
    this.starts[this.count] = start;
    this.lineNos[this.count] = lineNo;
    return this.count++;
  }
}

/**
 * A chain whose rules are parsed on first use; single rules and their text can be had without
 * that. Few fields, numbers in typed arrays: a dump has 100,000s of chains, kept for the run.
 */
export class LazyChain implements Chain {
  declare policy?: string;
  /** Its rule lines are lines[first, first + count) ... */
  private first = 0;
  private count = 0;
  /** ... unless they are not one run: then these. */
  private spread: number[] | undefined;
  private parsed: Rule[] | undefined;
  private single: Map<number, Rule> | undefined;

  constructor(
    readonly name: string,
    policy: string | undefined,
    private readonly lines: RuleLines,
    /** Where it stands in its table's chains. */
    readonly position: number,
  ) {
    if (policy !== undefined) this.policy = policy;
  }

  add(ordinal: number): void {
    if (this.spread) this.spread.push(ordinal);
    else if (this.count === 0) this.first = ordinal;
    else if (ordinal !== this.first + this.count) {
      this.spread = [];
      for (let k = 0; k < this.count; k++) this.spread.push(this.first + k);
      this.spread.push(ordinal);
    }
    this.count++;
  }

  get ruleCount(): number {
    return this.count;
  }

  /** Whether any rule line holds one of WORDS (a rule whose text does not, has not it in a word). */
  mentions(words: readonly string[]): boolean {
    if (this.count === 0) return false;
    const { text, starts } = this.lines;
    let lines: string;
    if (this.spread) lines = this.spread.map((_, i) => this.lineText(i)).join('\n');
    else {
      // One run of lines: one slice.
      const end = text.indexOf('\n', starts[this.first + this.count - 1]!);
      lines = text.slice(starts[this.first]!, end < 0 ? text.length : end);
    }
    return words.some((w) => lines.includes(w));
  }

  private ordinal(i: number): number {
    return this.spread ? this.spread[i]! : this.first + i;
  }

  /** Rule line I as written. */
  lineText(i: number): string {
    const { text, starts } = this.lines;
    const start = starts[this.ordinal(i)]!;
    const end = text.indexOf('\n', start);
    return text.slice(start, end < 0 ? text.length : end);
  }

  /** Rule I's body (after `-A CHAIN `), as scan.ts cuts it. */
  body(i: number): string {
    const line = this.lineText(i);
    // `-A NAME` then a blank: the lines taken here never hold another blank before the body.
    return line.length > 3 + this.name.length ? line.slice(4 + this.name.length).trim() : '';
  }

  /** Rule I, parsed alone (the same rule `rules` holds). */
  rule(i: number): Rule {
    if (this.parsed) return this.parsed[i]!;
    this.single ??= new Map();
    let r = this.single.get(i);
    if (!r) this.single.set(i, (r = parseRuleBody(this.body(i), this.lines.lineNos[this.ordinal(i)]!, this.lineText(i))));
    return r;
  }

  get rules(): Rule[] {
    if (!this.parsed) {
      const rules: Rule[] = [];
      for (let i = 0; i < this.count; i++) rules.push(this.rule(i));
      this.parsed = rules;
      this.single = undefined;
    }
    return this.parsed;
  }
}

/** A table of lazy chains, with the map from name to chain its reading made. */
export class LazyTable implements Table {
  readonly chains: LazyChain[] = [];
  readonly deleted: string[] = [];
  readonly byName = new Map<string, LazyChain>();
  constructor(readonly name: string) {}
}

export interface LazyIptables {
  ruleset: IptablesRuleset;
  /** What cleanText took off (as the full reader notes it). */
  notes: string[];
}

const isBlank = (c: number): boolean =>
  c <= 0x20 ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff;

const DECLARATION = /^:(\S+)\s+(\S+)/;
const DELETION = /^-X\s+(\S+)(?:\s+(.*))?$/;

/**
 * The dump as tables of lazy chains, or undefined when the full reader is the one to read it
 * (see above). `family` and `fallback` as parse/read.ts readRules.
 */
export function readIptablesLazily(input: string, family?: Family, fallback: Family = 'ipv4'): LazyIptables | undefined {
  if (input.includes('\0')) return undefined; // the full reader says where
  const { text, notes } = cleanText(input);
  if (detectFormat(text) !== 'iptables-save') return undefined;
  const tables = splitSave(text);
  if (!tables) return undefined;
  return { ruleset: { family: family ?? dumpFamily(text, fallback), tables }, notes };
}

/** Whether text[from, to) is the name of chain C. */
const names = (text: string, from: number, to: number, c: LazyChain | undefined): c is LazyChain =>
  c !== undefined && to - from === c.name.length && text.startsWith(c.name, from);

/** scanSave's reading of a dump it has nothing to say about; undefined where it would say something. */
function splitSave(text: string): Table[] | undefined {
  const lines = new RuleLines(text);
  const tables: LazyTable[] = [];
  // Rule lines of a chain come together, chain after chain as declared: the last chain and the
  // next one are tried before the map.
  let last: LazyChain | undefined;
  let lastIndex = -1;
  let table: LazyTable | undefined;
  let lineNo = 0;
  for (let start = 0; start < text.length;) {
    lineNo++;
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const lineStart = start;
    start = end + 1;
    if (end === lineStart) continue;
    const first = text.charCodeAt(lineStart);
    // Blanks around a line (or a blank line of spaces): the full reader's business.
    if (isBlank(first) || isBlank(text.charCodeAt(end - 1))) return undefined;
    if (first === 0x23 /* # */) continue;
    if (first === 0x2a /* * */) {
      if (table) return undefined;
      table = new LazyTable(text.slice(lineStart + 1, end).trim());
      tables.push(table);
      last = undefined;
      lastIndex = -1;
      continue;
    }
    if (!table) return undefined;
    if (first === 0x2d /* - */ && text.startsWith('-A ', lineStart)) {
      const sp = text.indexOf(' ', lineStart + 3);
      const nameEnd = sp < 0 || sp > end ? end : sp;
      if (!names(text, lineStart + 3, nameEnd, last)) {
        const next = table.chains[lastIndex + 1];
        if (names(text, lineStart + 3, nameEnd, next)) {
          last = next;
          lastIndex++;
        } else {
          const name = text.slice(lineStart + 3, nameEnd);
          last = table.byName.get(name);
          // An undeclared chain is a warning; a name with other blanks in it, scan.ts's regular expression.
          if (!last || name === '') return undefined;
          for (let k = 0; k < name.length; k++) if (isBlank(name.charCodeAt(k))) return undefined;
          lastIndex = last.position;
        }
      }
      last.add(lines.add(lineStart, lineNo));
      continue;
    }
    const line = text.slice(lineStart, end);
    if (line === 'COMMIT') {
      table = undefined;
      continue;
    }
    if (first === 0x3a /* : */) {
      const m = DECLARATION.exec(line);
      if (!m) return undefined;
      const c = new LazyChain(m[1]!, m[2] === '-' ? undefined : m[2]!, lines, table.chains.length);
      const before = table.byName.size;
      // A chain declared twice keeps its first declaration: rare enough for the full reader.
      if (table.byName.set(c.name, c).size === before) return undefined;
      table.chains.push(c);
      continue;
    }
    const x = DELETION.exec(line);
    if (!x) return undefined;
    table.deleted.push(x[1]!);
  }
  return table ? undefined : tables;
}
