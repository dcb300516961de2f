// The one front door for rule text from a node, whatever form it came in. It decides the format
// by content (here and nowhere else), takes off what a paste adds (CRLF, a shell prompt, a
// Markdown fence) and splits iptables text into tables, chains and rule lines with their line
// numbers. Rule lines are parsed by parse/iptables.ts; nft text by parse/nftables.ts.
//
// Forms of iptables text read: iptables-save (with or without -c counters), `iptables -S` /
// `iptables -t nat -S` (one table, or several one after another), and grep fragments (rule
// lines with no table at all: each chain is put in nat or filter by what it is). Text cut short
// is read as far as it goes, with a warning naming the line.
import { RuleError } from '../errors.js';
import { BUILTIN_CHAINS } from '../ir/iptables.js';
import { excerpt } from '../util/text.js';

export type RulesFormat = 'iptables-save' | 'iptables-S' | 'iptables-fragment' | 'nft-listing' | 'nft-commands' | 'manifests';

interface ScannedLine {
  /** 1-based line in the original text. */
  line: number;
  /** The line as written (counters and CR taken off). */
  text: string;
}

interface ScannedRule {
  body: string;
  line: ScannedLine;
}

interface ScannedChain {
  name: string;
  policy?: string;
  rules: ScannedRule[];
  /**
   * The rule lines as written, when they are one run of plain `-A NAME ...` lines (iptables-save
   * text): two such chains have the same rules when their `raw` texts are equal.
   */
  readonly raw?: string | undefined;
}

/**
 * A chain of iptables-save text whose plain rule lines are split off the text only when asked
 * for: a dump of 10,000 Services has 300,000 of them, and diff reads few.
 */
class SavedChain implements ScannedChain {
  policy?: string;
  // The first run of plain lines in `text` [start, end), its first line number; -1: none yet.
  // Anything after it (another run, a rule read one by one) goes to `more`, in order. Most
  // chains are one run: no array, no object per line.
  private start = -1;
  private end = -1;
  private line = 0;
  private more: ({ start: number; end: number; line: number } | ScannedRule)[] | undefined;
  private read: ScannedRule[] | undefined;
  private rawText: string | undefined;

  constructor(
    readonly name: string,
    policy: string | undefined,
    private readonly text: string,
  ) {
    if (policy !== undefined) this.policy = policy;
  }

  /** A plain line `-A NAME ...` at [start, end). */
  addPlain(start: number, end: number, line: number): void {
    if (this.read) {
      this.read.push(...this.materialize([{ start, end, line }]));
    } else if (!this.more && this.start < 0) {
      this.start = start;
      this.end = end;
      this.line = line;
    } else if (!this.more && this.end + 1 === start) {
      this.end = end;
    } else {
      const last = this.more?.[this.more.length - 1];
      if (last && 'start' in last && last.end + 1 === start) last.end = end;
      else (this.more ??= []).push({ start, end, line });
    }
    this.rawText = undefined;
  }

  /** A rule line read by ruleLine. */
  add(rule: ScannedRule): void {
    if (this.read) this.read.push(rule);
    else (this.more ??= []).push(rule);
  }

  get raw(): string | undefined {
    if (this.read || this.more) return undefined;
    return (this.rawText ??= this.start < 0 ? '' : this.text.slice(this.start, this.end));
  }

  get rules(): ScannedRule[] {
    if (!this.read) {
      const parts = this.start < 0 ? [] : [{ start: this.start, end: this.end, line: this.line }];
      this.read = this.materialize(this.more ? [...parts, ...this.more] : parts);
      this.more = undefined;
      this.rawText = undefined;
    }
    return this.read;
  }

  private materialize(parts: ({ start: number; end: number; line: number } | ScannedRule)[]): ScannedRule[] {
    const out: ScannedRule[] = [];
    const skip = 3 + this.name.length + 1;
    for (const p of parts) {
      if (!('start' in p)) {
        out.push(p);
        continue;
      }
      let line = p.line;
      for (let at = p.start; at <= p.end; line++) {
        let nl = this.text.indexOf('\n', at);
        if (nl < 0 || nl > p.end) nl = p.end;
        const text = this.text.slice(at, nl);
        // As ruleLine reads it: the body after `-A NAME `, trimmed.
        out.push({ body: text.slice(skip).trim(), line: { line, text } });
        at = nl + 1;
      }
    }
    return out;
  }
}

export interface ScannedTable {
  name: string;
  chains: ScannedChain[];
  deleted: string[];
  /** The chains by name, when the scanner kept that index (iptables-save text). */
  byName?: ReadonlyMap<string, ScannedChain>;
}

export interface Scanned {
  format: RulesFormat;
  /** The text with CRLF, prompts and fences taken off (line numbers kept). */
  text: string;
  /** What was assumed or taken off, for the user. */
  notes: string[];
  /** The text is cut short (or otherwise incomplete): read as far as it goes. */
  warnings: string[];
  /** Set for the iptables forms. */
  tables?: ScannedTable[];
}

const PROMPT = /^\s*(?:\[[^\]]*\][$#]|[\w.@~:/-]*[$#%>])\s*(?:sudo\s+)?(?:\S*(?:iptables|ip6tables|nft|kubectl|cat|grep)\S*)/;
const PROMPT_ANYWHERE = new RegExp(PROMPT.source, 'm');
const IPT_COMMAND_TABLE = /(?:^|\s)-t\s*(\w+)/;

/** Takes off what a paste adds, keeping line numbers (removed lines become blank). */
export function cleanText(input: string): { text: string; notes: string[]; promptTables: Map<number, string> } {
  const notes: string[] = [];
  const promptTables = new Map<number, string>();
  let text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (text.includes('\r\n')) {
    text = text.replace(/\r\n/g, '\n');
    notes.push('CRLF line endings read as LF');
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const lineNo = text.slice(0, nul).split('\n').length;
    const line = text.split('\n')[lineNo - 1] ?? '';
    throw new RuleError(`line ${lineNo}: binary data, not rule text: ${excerpt(line, 60)}`);
  }
  // Most texts hold neither: a search of the whole text spares a test per line. A prompt needs
  // one of $ # % > and a fence its backticks or tildes; plain searches for those come first
  // (a multi-line regular expression tries every position of a 30 MB dump).
  const fence = (text.includes('```') || text.includes('~~~')) && /^\s*(```|~~~)/m.test(text);
  const prompt = ['$', '#', '%', '>'].some((c) => text.includes(c)) && PROMPT_ANYWHERE.test(text);
  if (!fence && !prompt) return { text, notes, promptTables };
  const lines = text.split('\n');
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^\s*(```|~~~)/.test(l)) {
      notes.push(`line ${i + 1}: Markdown fence taken off`);
      lines[i] = '';
      changed = true;
    } else if (PROMPT.test(l) && !/^\s*[*:-]/.test(l)) {
      notes.push(`line ${i + 1}: shell prompt line taken off: ${excerpt(l.trim(), 60)}`);
      const t = IPT_COMMAND_TABLE.exec(l);
      if (t && /iptables/.test(l)) promptTables.set(i + 1, t[1]!);
      else if (/iptables/.test(l) && /\s-S\b/.test(l)) promptTables.set(i + 1, 'filter');
      lines[i] = '';
      changed = true;
    }
  }
  return { text: changed ? lines.join('\n') : text, notes, promptTables };
}

/** The format of rule text, by its first significant line. */
export function detectFormat(text: string): RulesFormat {
  let sawRuleLine = false;
  // Line by line without splitting the whole text: the first significant line usually decides.
  for (let start = 0; start <= text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) return 'iptables-save';
    if (/^(table|add|flush|delete|create|destroy|insert|replace)\s/.test(line))
      return /^table\s.*\{/.test(line) ? 'nft-listing' : 'nft-commands';
    const op = /^(?:\[\d+:\d+\]\s+)?(-[PNAX]|--append|--new-chain|--policy)\s/.exec(line);
    if (op) {
      if (op[1] === '-P' || op[1] === '-N' || op[1] === '--policy' || op[1] === '--new-chain') return 'iptables-S';
      sawRuleLine = true;
      continue;
    }
    if (line === '...' || line === '…') continue;
    return sawRuleLine ? 'iptables-fragment' : 'manifests';
  }
  return sawRuleLine ? 'iptables-fragment' : 'manifests';
}

/** Cleans and classifies; for iptables forms, splits into tables. */
export function scanRules(input: string): Scanned {
  const { text, notes, promptTables } = cleanText(input);
  const format = detectFormat(text);
  const warnings: string[] = [];
  const out: Scanned = { format, text, notes, warnings };
  if (format === 'iptables-save') out.tables = scanSave(text, warnings);
  else if (format === 'iptables-S' || format === 'iptables-fragment') {
    out.tables = scanCommands(text, promptTables, notes, warnings);
    if (format === 'iptables-fragment')
      notes.push('rule lines without a table (a fragment): each chain read as nat or filter by what it is');
    else notes.push('read as `iptables -S` output');
  } else if (format === 'nft-listing' || format === 'nft-commands') {
    let t = text;
    // nft commands are one per line: a text that stops mid-line lost its last command.
    if (format === 'nft-commands' && t !== '' && !t.endsWith('\n')) {
      const cut = t.lastIndexOf('\n');
      warnings.push(`line ${t.split('\n').length}: the text ends in the middle of a line (cut short): that line is left out`);
      t = t.slice(0, cut + 1);
    }
    out.text = closeBraces(t, warnings);
  }
  return out;
}

/** A rule line's parts: the chain, the body after `-A CHAIN `, or another command. */
function ruleLine(line: string): { op: string; chain: string; body: string } | undefined {
  // The common `-A CHAIN ...` line, without the regular expression (a dump has 100,000s).
  if (line.startsWith('-A ') && line.length > 3 && !/\s/.test(line[3]!)) {
    const sp = line.indexOf(' ', 3);
    const chain = sp < 0 ? line.slice(3) : line.slice(3, sp);
    if (!/\s/.test(chain)) return { op: '-A', chain, body: sp < 0 ? '' : line.slice(sp + 1).trim() };
  }
  const m = /^(?:\[\d+:\d+\]\s+)?(-A|--append|-X|--delete-chain|-P|--policy|-N|--new-chain)\s+(\S+)(?:\s+(.*))?$/.exec(line);
  if (!m) return undefined;
  const op =
    m[1] === '--append' ? '-A' : m[1] === '--delete-chain' ? '-X' : m[1] === '--policy' ? '-P' : m[1] === '--new-chain' ? '-N' : m[1]!;
  return { op, chain: m[2]!, body: (m[3] ?? '').trim() };
}

/**
 * Whether the line at [from, end) is `-A NAME ...` written plainly: nothing for trim() to take
 * off (it ends in printable ASCII), one space after the name. ruleLine reads such a line as a
 * rule of NAME whose body starts after that space.
 */
function plainRule(text: string, from: number, end: number, name: string): boolean {
  const last = text.charCodeAt(end - 1);
  return (
    last > 32 &&
    last < 127 &&
    text.startsWith('-A ', from) &&
    text.startsWith(name, from + 3) &&
    text.charCodeAt(from + 3 + name.length) === 32
  );
}

/**
 * The end of a word of printable ASCII starting at `from` (so \S+ reads the same word) that a
 * space ends, or with `last`, the end of the line: -1 when there is none such.
 */
function plainWord(text: string, from: number, end: number, last = false): number {
  let i = from;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) break;
    if (c < 33 || c > 126) return -1;
  }
  if (i === from) return -1;
  if (i === end) return last ? i : -1;
  return i;
}

function scanSave(text: string, warnings: string[]): ScannedTable[] {
  const tables: ScannedTable[] = [];
  let table: ScannedTable | undefined;
  let chains = new Map<string, SavedChain>();
  let tableLine = 0;
  // The last line that holds anything: where a dump cut short ends (a final newline adds none).
  let lastLine = 0;
  // The chain of the last rule line: the next line of the same chain is taken without a split.
  let current: SavedChain | undefined;
  const declare = (name: string, policy: string | undefined) => {
    let c = chains.get(name);
    if (!c) {
      c = new SavedChain(name, policy, text);
      chains.set(name, c);
      table!.chains.push(c);
    }
    return c;
  };
  let lineNo = 0;
  for (let start = 0; start <= text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const from = start;
    start = end + 1;
    // The common line: `-A CHAIN ...` of the chain of the line before, written plainly.
    if (current && plainRule(text, from, end, current.name)) {
      lastLine = lineNo;
      current.addPlain(from, end, lineNo);
      continue;
    }
    if (from === text.length) break;
    // The first rule line of a declared chain and a chain declaration, written plainly: read
    // without the general path's pieces (two objects and four strings a line).
    if (table && text.startsWith('-A ', from)) {
      const sp = plainWord(text, from + 3, end);
      const chain = sp > 0 && plainRule(text, from, end, text.slice(from + 3, sp)) ? chains.get(text.slice(from + 3, sp)) : undefined;
      if (chain) {
        lastLine = lineNo;
        current = chain;
        chain.addPlain(from, end, lineNo);
        continue;
      }
    } else if (table && text.charCodeAt(from) === 58 /* : */) {
      const sp = plainWord(text, from + 1, end);
      const stop = sp > 0 ? plainWord(text, sp + 1, end, true) : -1;
      if (stop > 0) {
        lastLine = lineNo;
        const policy = text.slice(sp + 1, stop);
        declare(text.slice(from + 1, sp), policy === '-' ? undefined : policy);
        continue;
      }
    }
    const line = text.slice(from, end).trim();
    if (line === '') continue;
    lastLine = lineNo;
    if (line.startsWith('#')) continue;
    if (line === '...' || line === '…') {
      warnings.push(`line ${lineNo}: "${line}": the text was cut here; read as far as it goes`);
      continue;
    }
    if (line.startsWith('*')) {
      if (table) {
        warnings.push(
          `line ${lineNo}: table ${excerpt(line.slice(1), 40)} starts before COMMIT of ${table.name} (line ${tableLine}): read ${table.name} as far as it goes`,
        );
        tables.push(table);
      }
      chains = new Map();
      table = { name: line.slice(1).trim(), chains: [], deleted: [], byName: chains };
      tableLine = lineNo;
      current = undefined;
      continue;
    }
    if (!table) throw new RuleError(`line ${lineNo}: rule outside a table (missing *filter / *nat): ${excerpt(line)}`);
    if (line === 'COMMIT') {
      tables.push(table);
      table = undefined;
      current = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)/.exec(line);
      if (!m) {
        warnings.push(`line ${lineNo}: chain declaration not understood, skipped: ${excerpt(line)}`);
        continue;
      }
      declare(m[1]!, m[2] === '-' ? undefined : m[2]!);
      continue;
    }
    const r = ruleLine(line);
    if (!r || (r.op !== '-A' && r.op !== '-X')) {
      warnings.push(`line ${lineNo}: not a rule line, skipped: ${excerpt(line)}`);
      continue;
    }
    if (r.op === '-X') {
      table.deleted.push(r.chain);
      continue;
    }
    let chain = chains.get(r.chain);
    if (!chain) {
      warnings.push(`line ${lineNo}: chain ${excerpt(r.chain, 40)} is not declared in table ${table.name}: read as if it were`);
      chain = declare(r.chain, BUILTIN_CHAINS[table.name]?.includes(r.chain) ? 'ACCEPT' : undefined);
    }
    current = chain;
    if (plainRule(text, from, end, chain.name)) chain.addPlain(from, end, lineNo);
    else chain.add({ body: r.body, line: { line: lineNo, text: line[0] === '[' ? line.replace(/^\[\d+:\d+\]\s+/, '') : line } });
  }
  if (table) {
    warnings.push(`line ${lastLine}: the text ends inside table ${table.name} (no COMMIT): cut short, read as far as it goes`);
    tables.push(table);
  }
  return tables;
}

// kube-proxy's chains that live in nat only, and those in filter only (KUBE-SERVICES and
// KUBE-NODEPORTS are in both: their rules' targets decide).
const NAT_CHAIN = /^(PREROUTING|POSTROUTING|KUBE-(SVC|SVL|SEP|EXT|FW|MARK-MASQ|MARK-DROP|POSTROUTING|LOAD-BALANCER|NODE-PORT|LOOP-BACK)\b)/;
const FILTER_CHAIN = /^(INPUT|FORWARD|KUBE-(FORWARD|FIREWALL|EXTERNAL-SERVICES|PROXY-FIREWALL|NWPLCY|POD-FW|ROUTER)\b)/;
const NAT_TARGET = /(^|\s)-[jg]\s+(DNAT|SNAT|MASQUERADE|REDIRECT|KUBE-(SVC|SVL|SEP|EXT|FW|MARK-MASQ|POSTROUTING)\S*)(\s|$)/;
const FILTER_TARGET = /(^|\s)-j\s+(REJECT|ACCEPT|DROP)(\s|$)/;

function tableByPolicies(policies: string[]): string | undefined {
  const set = [...new Set(policies)].sort().join(',');
  for (const [name, chains] of Object.entries(BUILTIN_CHAINS))
    if ([...chains].sort().join(',') === set) return name === 'security' ? 'filter' : name;
  if (policies.includes('PREROUTING') || policies.includes('POSTROUTING')) return 'nat';
  if (policies.length > 0) return 'filter';
  return undefined;
}

/** `iptables -S` output and grep fragments: command lines, no table headers. */
function scanCommands(text: string, promptTables: Map<number, string>, notes: string[], warnings: string[]): ScannedTable[] {
  interface Seg {
    table: string | undefined;
    lines: { lineNo: number; op: string; chain: string; body: string; text: string }[];
  }
  const segs: Seg[] = [];
  let seg: Seg | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const given = promptTables.get(lineNo);
    if (given) {
      seg = { table: given, lines: [] };
      segs.push(seg);
      continue;
    }
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line === '...' || line === '…') {
      warnings.push(`line ${lineNo}: "${line}": the text was cut here; read as far as it goes`);
      continue;
    }
    const r = ruleLine(line);
    if (!r) {
      warnings.push(`line ${lineNo}: not a rule line, skipped: ${excerpt(line)}`);
      continue;
    }
    // A -P after other lines starts the next table's listing.
    if (!seg || (r.op === '-P' && seg.lines.some((l) => l.op !== '-P'))) {
      seg = { table: undefined, lines: [] };
      segs.push(seg);
    }
    seg.lines.push({ lineNo, op: r.op, chain: r.chain, body: r.body, text: line.replace(/^\[\d+:\d+\]\s+/, '') });
  }
  const byName = new Map<string, ScannedTable>();
  const tableOf = (name: string) => {
    let t = byName.get(name);
    if (!t) byName.set(name, (t = { name, chains: [], deleted: [] }));
    return t;
  };
  for (const s of segs) {
    const known = s.table ?? tableByPolicies(s.lines.filter((l) => l.op === '-P').map((l) => l.chain));
    // Without a table: each chain goes where its name or its rules' targets say.
    const chainTable = new Map<string, string>();
    if (!known) {
      for (const l of s.lines) {
        if (chainTable.has(l.chain)) continue;
        if (NAT_CHAIN.test(l.chain)) chainTable.set(l.chain, 'nat');
        else if (FILTER_CHAIN.test(l.chain)) chainTable.set(l.chain, 'filter');
      }
      for (const l of s.lines) {
        if (chainTable.has(l.chain) || l.op !== '-A') continue;
        if (NAT_TARGET.test(l.body)) chainTable.set(l.chain, 'nat');
        else if (FILTER_TARGET.test(l.body)) chainTable.set(l.chain, 'filter');
      }
    }
    const where = (chain: string) => known ?? chainTable.get(chain) ?? 'filter';
    for (const l of s.lines) {
      const t = tableOf(where(l.chain));
      let c = t.chains.find((x) => x.name === l.chain);
      const builtin = BUILTIN_CHAINS[t.name]?.includes(l.chain) ?? false;
      if (!c) {
        c = builtin ? { name: l.chain, policy: 'ACCEPT', rules: [] } : { name: l.chain, rules: [] };
        t.chains.push(c);
      }
      if (l.op === '-P') c.policy = l.body.split(/\s+/)[0] || 'ACCEPT';
      else if (l.op === '-X') t.deleted.push(l.chain);
      else if (l.op === '-A') c.rules.push({ body: l.body, line: { line: l.lineNo, text: l.text } });
    }
  }
  if (byName.size > 1 || segs.some((s) => !s.table)) {
    const summary = [...byName.values()].map((t) => `${t.name} (${t.chains.length} chain${t.chains.length === 1 ? '' : 's'})`).join(', ');
    if (summary) notes.push(`tables read: ${summary}`);
  }
  // Tables by name, as iptables-save prints them.
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * An nft listing cut short ends inside braces: close them after the last complete line, so the
 * parser reads what is there; the warning names the line where the text stops.
 */
function closeBraces(text: string, warnings: string[]): string {
  let depth = 0;
  let inString = false;
  let lastBalancedLine = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    for (let k = 0; k < l.length; k++) {
      const ch = l[k]!;
      if (ch === '"') inString = !inString;
      else if (inString) continue;
      else if (ch === '#') break;
      else if (ch === '{') depth++;
      else if (ch === '}') depth--;
    }
    inString = false;
    if (l.trim() !== '') lastBalancedLine = i + 1;
  }
  if (depth <= 0) return text;
  // The last line may be cut mid-word: drop it unless it ends a statement cleanly.
  let keep = lines.slice(0, lastBalancedLine);
  const last = keep[keep.length - 1] ?? '';
  // An element list or a statement cut in the middle (`elements = { a,`): drop that line.
  const opens = (last.match(/\{/g) ?? []).length - (last.match(/\}/g) ?? []).length;
  const midLine = !text.endsWith('\n') && lastBalancedLine === lines.length;
  const header = /^\s*(table|chain|set|map|flowtable)\b/.test(last) && !last.includes('{');
  if (midLine || header || /[,.:=]\s*$/.test(last) || (opens > 0 && !/\{\s*(#.*)?$/.test(last))) keep = keep.slice(0, -1);
  warnings.push(
    `line ${lastBalancedLine}: the nft listing ends inside ${depth} open brace${depth === 1 ? '' : 's'} (cut short): read as far as it goes`,
  );
  // Recount what is kept and close it.
  let d = 0;
  for (const l of keep) {
    let s = false;
    for (const ch of l) {
      if (ch === '"') s = !s;
      else if (s) continue;
      else if (ch === '#') break;
      else if (ch === '{') d++;
      else if (ch === '}') d--;
    }
  }
  return `${keep.join('\n')}\n${'}\n'.repeat(Math.max(d, 0))}`;
}

/** The scanned iptables tables back as iptables-save text (for readers that work on text). */
export function saveText(tables: ScannedTable[]): string {
  let out = '';
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c.name} ${c.policy ?? '-'} [0:0]\n`;
    for (const c of t.chains) for (const r of c.rules) out += r.body ? `-A ${c.name} ${r.body}\n` : `-A ${c.name}\n`;
    for (const d of t.deleted) out += `-X ${d}\n`;
    out += 'COMMIT\n';
  }
  return out;
}
