// nft rule text → the nftables IR. Reads two forms into the same objects:
//   - knftables' dump form (what `ktables compile --proxy-mode nftables` writes): one
//     `add table|chain|set|map|rule|element ...` command per line;
//   - the nested form `nft list ruleset` prints on a node (`table ip kube-proxy { chain ... }`,
//     named priorities, `meta mark & ... == ...`, multi-line element lists, `# handle N`).
// A rule it cannot read is kept verbatim as an `other` expression, so the rest of the rule set
// still loads; the tracer refuses such a rule only if a packet reaches it. Structural problems
// (unknown table, chain or set; unbalanced braces) are errors naming the line.
import { RuleError } from '../errors.js';
import type {
  AddrField,
  BaseChain,
  Chain,
  ChainType,
  Element,
  Expr,
  Hook,
  KeyPart,
  L3,
  NftFamily,
  NftRuleset,
  NftSet,
  Rule,
  SimpleVerdict,
  Table,
  Verdict,
} from '../ir/nftables.js';

interface Token {
  text: string;
  quoted: boolean;
  line: number;
  /** Whitespace (or the start of the line) precedes this token. */
  spaced: boolean;
  start: number; // offset in the source text
  end: number;
}

const PUNCT = new Set(['{', '}', ';', ',']);

/** Words, "strings" and the punctuation { } ; , as tokens; `#` starts a comment to end of line. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  let spaced = true;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      i++;
      spaced = true;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
      spaced = true;
      continue;
    }
    if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (ch === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\n') throw new RuleError(`line ${line}: unterminated string`);
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      if (i >= text.length) throw new RuleError(`line ${line}: unterminated string`);
      i++;
      out.push({ text: value, quoted: true, line, spaced, start, end: i });
    } else if (PUNCT.has(ch)) {
      i++;
      out.push({ text: ch, quoted: false, line, spaced, start, end: i });
    } else {
      while (i < text.length && !/[\s{};,"#]/.test(text[i]!)) i++;
      // Other white space (a form feed, a vertical tab) ends no word and starts none: nft refuses it.
      if (i === start) throw new RuleError(`line ${line}: unexpected character ${JSON.stringify(ch)}`);
      out.push({ text: text.slice(start, i), quoted: false, line, spaced, start, end: i });
    }
    spaced = false;
  }
  return out;
}

/** A cursor over a token list. */
class Reader {
  i = 0;
  constructor(
    readonly toks: Token[],
    readonly what: string,
  ) {}
  done(): boolean {
    return this.i >= this.toks.length;
  }
  peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }
  is(text: string, k = 0): boolean {
    const t = this.toks[this.i + k];
    return t !== undefined && !t.quoted && t.text === text;
  }
  take(text: string): boolean {
    if (!this.is(text)) return false;
    this.i++;
    return true;
  }
  next(what: string): Token {
    const t = this.toks[this.i++];
    if (t === undefined) this.fail(`expected ${what}`);
    return t;
  }
  word(what: string): string {
    const t = this.next(what);
    if (t.quoted || PUNCT.has(t.text)) this.fail(`expected ${what}, found ${JSON.stringify(t.text)}`, t);
    return t.text;
  }
  expect(text: string): void {
    const t = this.next(`"${text}"`);
    if (t.quoted || t.text !== text) this.fail(`expected "${text}", found ${JSON.stringify(t.text)}`, t);
  }
  fail(message: string, at?: Token): never {
    const t = at ?? this.toks[Math.min(this.i, this.toks.length - 1)];
    throw new RuleError(`${t ? `line ${t.line}: ` : ''}${this.what}: ${message}`);
  }
}

// ---- rules -------------------------------------------------------------------------------

class Unreadable extends Error {}

function bail(): never {
  throw new Unreadable();
}

const L3S = new Set(['ip', 'ip6']);
const ADDR_FIELDS = new Set(['saddr', 'daddr']);

function notOp(r: Reader): boolean {
  if (r.take('!=')) return true;
  r.take('==');
  return false;
}

/** `{ a , b }` after the opening brace: the words and the separator as written. */
function braceList(r: Reader): { values: string[]; sep: string } {
  const values: string[] = [];
  let sep = ' , ';
  for (;;) {
    const t = r.next('a set element');
    if (t.text === '}' && !t.quoted) break;
    if (t.text === ',' && !t.quoted) {
      const after = r.peek();
      sep = `${t.spaced ? ' ' : ''},${after?.spaced ? ' ' : ''}`;
      continue;
    }
    if (t.quoted || PUNCT.has(t.text)) bail();
    values.push(t.text);
  }
  if (values.length === 0) bail();
  return { values, sep };
}

function keyPart(r: Reader): KeyPart {
  if (r.take('meta')) {
    r.expect('l4proto');
    return { kind: 'l4proto' };
  }
  if (r.take('th')) {
    r.expect('dport');
    return { kind: 'thDport' };
  }
  const l3 = r.word('a key');
  const field = r.word('saddr or daddr');
  if (!L3S.has(l3) || !ADDR_FIELDS.has(field)) bail();
  return { kind: 'addr', l3: l3 as L3, field: field as AddrField };
}

/** `KEY . KEY ... vmap @MAP`, the first key part already read. */
function vmap(r: Reader, first: KeyPart): Verdict {
  const key = [first];
  while (r.take('.')) key.push(keyPart(r));
  r.expect('vmap');
  const map = r.word('@map');
  if (!map.startsWith('@')) bail();
  return { kind: 'vmap', key, map: map.slice(1) };
}

/**
 * `KEY . KEY ... vmap @MAP` (a verdict), or `KEY . KEY ... @SET` (a concatenated lookup, e.g.
 * kube-proxy 1.36's `ip saddr . ip daddr . meta l4proto . th dport @hairpin-connections`).
 */
function keyed(r: Reader, first: KeyPart, exprs: Expr[]): Verdict | undefined {
  if (r.is('.', 0)) {
    let k = r.i;
    // Look past the key parts: a word starting with @ (after an optional !=) is a lookup.
    while (k < r.toks.length && !(r.toks[k]!.text === 'vmap' && !r.toks[k]!.quoted) && !r.toks[k]!.text.startsWith('@')) k++;
    if (k < r.toks.length && r.toks[k]!.text.startsWith('@')) {
      const key = [first];
      while (r.take('.')) key.push(keyPart(r));
      const negate = notOp(r);
      const set = r.word('@set');
      if (!set.startsWith('@')) bail();
      exprs.push({ kind: 'concatLookup', key, set: set.slice(1), negate });
      return undefined;
    }
  }
  return vmap(r, first);
}

/**
 * kube-proxy 1.36+: `dnat ip addr . port to numgen random mod N map { 0 : IP . PORT , ... }`
 * (`nft list`: `dnat ip to numgen ...`), or `dnat ip to IP:PORT` as `nft list` prints it.
 */
function dnatFamily(r: Reader, l3: L3): Verdict {
  let listed = true;
  if (r.take('addr')) {
    r.expect('.');
    r.expect('port');
    listed = false;
  }
  r.expect('to');
  if (!r.take('numgen')) return { kind: 'dnat', to: r.word('an address'), l3 };
  r.expect('random');
  r.expect('mod');
  const mod = Number(r.word('a modulus'));
  r.expect('map');
  r.expect('{');
  const entries: { index: number; ip: string; port: number }[] = [];
  let sep = ' , ';
  for (;;) {
    if (r.take('}')) break;
    const index = Number(r.word('an index'));
    r.expect(':');
    const ip = r.word('an address');
    r.expect('.');
    const port = Number(r.word('a port'));
    if (!Number.isInteger(index) || !Number.isInteger(port)) bail();
    entries.push({ index, ip, port });
    const t = r.peek();
    if (t && t.text === ',' && !t.quoted) {
      r.i++;
      sep = `${t.spaced ? ' ' : ''},${r.peek()?.spaced ? ' ' : ''}`;
    }
  }
  if (!Number.isInteger(mod) || mod < 1) bail();
  const v: Verdict = { kind: 'dnatMap', l3, mod, entries, sep };
  if (listed) v.style = 'list';
  return v;
}

function simpleVerdict(r: Reader): SimpleVerdict | undefined {
  const t = r.peek();
  if (!t || t.quoted) return undefined;
  switch (t.text) {
    case 'accept':
    case 'drop':
    case 'return':
    case 'continue':
      r.i++;
      return { kind: t.text };
    case 'jump':
    case 'goto':
      r.i++;
      return { kind: t.text, chain: r.word('a chain name') };
    default:
      return undefined;
  }
}

function numgen(r: Reader): Verdict {
  r.expect('random');
  r.expect('mod');
  const mod = Number(r.word('a modulus'));
  r.expect('vmap');
  r.expect('{');
  const entries: { index: number; verdict: SimpleVerdict }[] = [];
  let sep = ' , ';
  for (;;) {
    if (r.take('}')) break;
    const index = Number(r.word('an index'));
    r.expect(':');
    const verdict = simpleVerdict(r) ?? bail();
    if (!Number.isInteger(index)) bail();
    entries.push({ index, verdict });
    const t = r.peek();
    if (t && t.text === ',' && !t.quoted) {
      r.i++;
      sep = `${t.spaced ? ' ' : ''},${r.peek()?.spaced ? ' ' : ''}`;
    }
  }
  if (!Number.isInteger(mod) || mod < 1) bail();
  return { kind: 'numgen', mod, entries, sep };
}

const HEX_OR_DEC = /^(0x[0-9a-fA-F]+|[0-9]+)$/;

function markValue(r: Reader): string {
  const v = r.word('a mark value');
  if (!HEX_OR_DEC.test(v)) bail();
  return v;
}

/** One phrase of a rule; returns a verdict when the phrase ends the rule. */
function phrase(r: Reader, exprs: Expr[]): Verdict | undefined {
  const t = r.next('a rule');
  if (t.quoted) bail();
  const w = t.text;
  if (L3S.has(w)) {
    const field = r.word('saddr or daddr');
    if (!ADDR_FIELDS.has(field)) bail();
    const l3 = w as L3;
    if (r.is('.')) return keyed(r, { kind: 'addr', l3, field: field as AddrField }, exprs);
    const negate = notOp(r);
    if (r.take('{')) {
      const { values, sep } = braceList(r);
      exprs.push({ kind: 'addr', l3, field: field as AddrField, negate, values, set: { sep } });
    } else {
      const v = r.word('an address');
      if (v.startsWith('@')) exprs.push({ kind: 'lookup', l3, field: field as AddrField, set: v.slice(1), negate });
      else exprs.push({ kind: 'addr', l3, field: field as AddrField, negate, values: [v] });
    }
    return undefined;
  }
  switch (w) {
    case 'ct': {
      if (r.take('status')) {
        const negate = notOp(r);
        const statuses = [r.word('a status')];
        while (r.take(',')) statuses.push(r.word('a status'));
        exprs.push({ kind: 'ctStatus', statuses: statuses.flatMap((s) => s.split(',')), negate });
        return undefined;
      }
      r.expect('state');
      const negate = notOp(r);
      const states = [r.word('a state')];
      while (r.take(',')) states.push(r.word('a state'));
      exprs.push({ kind: 'ctState', states: states.flatMap((s) => s.split(',')), negate });
      return undefined;
    }
    case 'meta': {
      const key = r.word('a meta key');
      if (key === 'l4proto') {
        if (r.is('.')) return keyed(r, { kind: 'l4proto' }, exprs);
        const negate = notOp(r);
        exprs.push({ kind: 'l4proto', protocol: r.word('a protocol'), negate });
        return undefined;
      }
      if (key !== 'mark') bail();
      if (r.take('set')) {
        r.expect('meta');
        r.expect('mark');
        const op = ({ '|': 'or', '^': 'xor', '&': 'and' } as const)[r.word('| ^ or &') as '|'] ?? bail();
        exprs.push({ kind: 'markSet', op, value: markValue(r), style: 'list' });
        return undefined;
      }
      r.expect('&');
      const mask = markValue(r);
      const negate = r.take('!=') ? true : (r.expect('=='), false);
      exprs.push({ kind: 'markMatch', mask, value: markValue(r), negate, style: 'list' });
      return undefined;
    }
    case 'mark': {
      if (r.take('set')) {
        r.expect('mark');
        const op = r.word('or, xor or and');
        if (op !== 'or' && op !== 'xor' && op !== 'and') bail();
        exprs.push({ kind: 'markSet', op, value: markValue(r) });
        return undefined;
      }
      r.expect('and');
      const mask = markValue(r);
      const negate = r.take('!=') ? true : (r.expect('=='), false);
      exprs.push({ kind: 'markMatch', mask, value: markValue(r), negate });
      return undefined;
    }
    case 'fib': {
      const field = r.word('saddr or daddr');
      if (!ADDR_FIELDS.has(field)) bail();
      r.expect('type');
      const negate = notOp(r);
      r.expect('local');
      exprs.push({ kind: 'fibLocal', field: field as AddrField, negate });
      return undefined;
    }
    case 'tcp':
    case 'udp':
    case 'sctp':
    case 'th': {
      const field = r.word('dport or sport');
      if (field !== 'dport' && field !== 'sport') bail();
      const negate = notOp(r);
      const values = r.take('{') ? braceList(r).values : [r.word('a port')];
      if (!values.every((v) => /^[0-9]+(-[0-9]+)?$/.test(v))) bail();
      exprs.push({ kind: 'port', protocol: w, field, negate, values });
      return undefined;
    }
    case 'iifname':
    case 'oifname': {
      const negate = notOp(r);
      const name = r.next('an interface name');
      // `iifname vmap { ... }`, `iifname @set`: a lookup, not an interface called vmap.
      if (!name.quoted && (PUNCT.has(name.text) || name.text === 'vmap' || name.text === 'map' || name.text.startsWith('@'))) bail();
      exprs.push({ kind: 'ifname', dir: w, negate, name: name.text, quoted: name.quoted });
      return undefined;
    }
    case 'update':
    case 'add': {
      const set = r.word('@set');
      if (!set.startsWith('@')) bail();
      r.expect('{');
      const l3 = r.word('ip or ip6');
      const field = r.word('saddr or daddr');
      r.expect('}');
      if (!L3S.has(l3) || !ADDR_FIELDS.has(field)) bail();
      exprs.push({ kind: 'setUpdate', op: w, set: set.slice(1), l3: l3 as L3, field: field as AddrField });
      return undefined;
    }
    case 'counter': {
      let text = 'counter';
      // A named counter (kube-proxy 1.37's localhost-nodeport-rejected-*).
      if (r.take('name')) text += ` name ${JSON.stringify(r.next('a counter name').text)}`;
      while (r.is('packets') || r.is('bytes')) text += ` ${r.word('counter')} ${r.word('a count')}`;
      exprs.push({ kind: 'counter', text });
      return undefined;
    }
    case 'numgen':
      return numgen(r);
    case 'dnat': {
      if (r.is('ip') || r.is('ip6')) return dnatFamily(r, r.word('ip or ip6') as L3);
      r.expect('to');
      return { kind: 'dnat', to: r.word('an address') };
    }
    case 'masquerade': {
      if (r.take('fully-random')) return { kind: 'masquerade', fullyRandom: true };
      return { kind: 'masquerade' };
    }
    case 'reject': {
      if (!r.take('with')) return { kind: 'reject' };
      const words: string[] = [];
      while (!r.done() && !r.is('comment')) words.push(r.word('a reject type'));
      return { kind: 'reject', with: words.join(' ') };
    }
    default: {
      r.i--;
      return simpleVerdict(r) ?? bail();
    }
  }
}

/** Reads one rule from its tokens; `raw` is its text, kept when the rule is not understood. */
function parseRule(toks: Token[], raw: string, line: number): Rule {
  // `comment "..."` always comes last; take it off first so an unreadable rule keeps it.
  let comment: string | undefined;
  const n = toks.length;
  if (n >= 2 && toks[n - 1]!.quoted && !toks[n - 2]!.quoted && toks[n - 2]!.text === 'comment') {
    comment = toks[n - 1]!.text;
    toks = toks.slice(0, n - 2);
    raw = raw.slice(0, raw.lastIndexOf('comment')).trimEnd();
  }
  const rule: Rule = { exprs: [], source: { line } };
  // The phrases read before the first unreadable one stay structured (the tracer can still
  // tell the rule does not match); the rest is kept as written.
  const r = new Reader(toks, 'rule');
  let at = 0;
  try {
    while (!r.done()) {
      at = r.i;
      const v = phrase(r, rule.exprs);
      if (v) {
        if (!r.done()) bail();
        rule.verdict = v;
      }
    }
  } catch (e) {
    if (!(e instanceof Unreadable || e instanceof RuleError)) throw e;
    rule.exprs.push({ kind: 'other', text: raw.slice(toks[at]!.start - toks[0]!.start) });
  }
  if (comment !== undefined) rule.comment = comment;
  return rule;
}

// ---- objects shared by both forms ---------------------------------------------------------

const FAMILIES = new Set<NftFamily>(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const HOOKS = new Set<Hook>(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress']);
const CHAIN_TYPES = new Set<ChainType>(['filter', 'nat', 'route']);
const NAMED_PRIORITIES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

function family(r: Reader): NftFamily {
  const f = r.word('a family');
  if (!FAMILIES.has(f as NftFamily)) r.fail(`unknown family ${JSON.stringify(f)}`);
  return f as NftFamily;
}

/** `-110`, `filter`, `dstnat - 10`: up to the next `;` or `}`. */
function priority(r: Reader): number {
  const first = r.word('a priority');
  let value = /^-?[0-9]+$/.test(first) ? Number(first) : NAMED_PRIORITIES[first];
  if (value === undefined) r.fail(`unknown priority ${JSON.stringify(first)}`);
  if (r.is('+') || r.is('-')) {
    const sign = r.word('+ or -') === '-' ? -1 : 1;
    value += sign * Number(r.word('a number'));
  } else if (/^[+-][0-9]+$/.test(r.peek()?.text ?? '')) {
    value += Number(r.word('a number'));
  }
  if (!Number.isFinite(value)) r.fail('bad priority');
  return value;
}

/** `type T hook H [device D] priority P` (the `type` word already read). */
function baseChain(r: Reader): BaseChain {
  const type = r.word('a chain type');
  r.expect('hook');
  const hook = r.word('a hook');
  if (!CHAIN_TYPES.has(type as ChainType)) r.fail(`unknown chain type ${JSON.stringify(type)}`);
  if (!HOOKS.has(hook as Hook)) r.fail(`unknown hook ${JSON.stringify(hook)}`);
  if (r.take('device')) r.next('a device');
  r.expect('priority');
  return { type: type as ChainType, hook: hook as Hook, priority: priority(r) };
}

/** 10800s, 3h, 1d2h3m4s, 500ms → whole seconds. */
function duration(r: Reader): number {
  const text = r.word('a duration');
  const units: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  const re = /([0-9]+)(ms|d|h|m|s)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== text.length || text.length === 0) r.fail(`bad duration ${JSON.stringify(text)}`);
  return Math.floor(total);
}

/** `type A . B [: V]` (the `type` word already read). */
function setType(r: Reader, set: NftSet): void {
  const parts: string[] = [r.word('a type')];
  while (r.take('.')) parts.push(r.word('a type'));
  set.keyType = parts;
  if (r.take(':')) set.dataType = r.word('a data type');
}

// The data type each selector a `typeof` names stands for (what `nft list` would print as `type`).
const TYPEOF_TYPES: Record<string, string> = {
  'ip saddr': 'ipv4_addr',
  'ip daddr': 'ipv4_addr',
  'ip6 saddr': 'ipv6_addr',
  'ip6 daddr': 'ipv6_addr',
  'meta l4proto': 'inet_proto',
  'ip protocol': 'inet_proto',
  'meta mark': 'mark',
  iifname: 'ifname',
  oifname: 'ifname',
  'meta iifname': 'ifname',
  'meta oifname': 'ifname',
};

/**
 * `typeof ip daddr . tcp dport [: verdict]`: each selector becomes the type it stands for
 * (ports of any transport are inet_service); a selector it does not know is kept as written.
 */
function typeofType(r: Reader, set: NftSet, line: number): void {
  const parts: string[] = [];
  let words: string[] = [];
  const flush = () => {
    const sel = words.join(' ');
    parts.push(TYPEOF_TYPES[sel] ?? (/^(tcp|udp|sctp|th) (s|d)port$/.test(sel) ? 'inet_service' : sel));
    words = [];
  };
  while (r.peek()?.line === line && !r.is(';') && !r.is('}') && !r.is(':')) {
    if (r.take('.')) flush();
    else words.push(r.word('a selector'));
  }
  if (words.length === 0) r.fail(`set ${set.name}: expected a selector after typeof`);
  flush();
  set.keyType = parts;
  if (r.take(':')) set.dataType = r.word('a data type');
}

/** Elements `{ K . K [timeout T] [expires T] [comment "c"] [: V], ... }` after the brace. */
function elements(r: Reader): Element[] {
  const out: Element[] = [];
  for (;;) {
    if (r.take('}')) return out;
    const key = [r.word('an element key')];
    while (r.take('.')) key.push(r.word('an element key'));
    const el: Element = { key };
    for (;;) {
      if (r.take('timeout') || r.take('expires')) duration(r);
      else if (r.is('counter')) {
        r.i++;
        while (r.is('packets') || r.is('bytes')) r.i += 2;
      } else if (r.take('comment')) {
        const c = r.next('a comment');
        if (!c.quoted) r.fail('expected a quoted comment', c);
        el.comment = c.text;
      } else break;
    }
    if (r.take(':')) el.value = simpleVerdict(r) ?? r.fail('expected a verdict');
    out.push(el);
    if (!r.take(',') && !r.is('}')) r.fail('expected "," or "}" in an element list');
  }
}

class Tables {
  readonly list: Table[] = [];
  private readonly chains = new Map<Table, Map<string, Chain>>();
  private readonly sets = new Map<Table, Map<string, NftSet>>();
  private readonly elementIndex = new Map<NftSet, Map<string, number>>();

  table(fam: NftFamily, name: string, create: boolean, r: Reader): Table {
    let t = this.list.find((x) => x.family === fam && x.name === name);
    if (!t) {
      if (!create) r.fail(`table ${fam} ${name} does not exist`);
      t = { family: fam, name, chains: [], sets: [] };
      this.list.push(t);
      this.chains.set(t, new Map());
      this.sets.set(t, new Map());
    }
    return t;
  }

  chain(t: Table, name: string, create: boolean, r: Reader): Chain {
    const byName = this.chains.get(t)!;
    let c = byName.get(name);
    if (!c) {
      if (!create) r.fail(`chain ${name} does not exist in table ${t.family} ${t.name}`);
      c = { name, rules: [] };
      byName.set(name, c);
      t.chains.push(c);
    }
    return c;
  }

  set(t: Table, kind: 'set' | 'map', name: string, create: boolean, r: Reader): NftSet {
    const byName = this.sets.get(t)!;
    let s = byName.get(name);
    if (!s) {
      if (!create) r.fail(`set or map ${name} does not exist in table ${t.family} ${t.name}`);
      s = { kind, name, keyType: [], elements: [] };
      byName.set(name, s);
      t.sets.push(s);
    }
    return s;
  }

  /** A set already declared, for the element fast path (undefined: let the reader report it). */
  existingSet(family: string, table: string, name: string): NftSet | undefined {
    const t = this.list.find((x) => x.family === family && x.name === table);
    return t && this.sets.get(t)!.get(name);
  }

  /** Adds elements, replacing the value of a key already there (as nft does). */
  addElements(s: NftSet, els: Element[]): void {
    let index = this.elementIndex.get(s);
    if (!index) this.elementIndex.set(s, (index = new Map()));
    for (const el of els) {
      const k = el.key.join(' . ');
      const at = index.get(k);
      if (at !== undefined) s.elements[at] = el;
      else index.set(k, s.elements.push(el) - 1);
    }
  }
}

// ---- the dump form: one `add ...` command per line ----------------------------------------

function setProps(r: Reader, s: NftSet): void {
  // `{ type K ; [flags f ;] [timeout Ns ;] [size N ;] [comment "c" ;] }`
  r.expect('{');
  while (!r.take('}')) {
    const w = r.word('a set property');
    if (w === 'type') setType(r, s);
    else if (w === 'flags') {
      const flags = [r.word('a flag')];
      while (r.take(',')) flags.push(r.word('a flag'));
      s.flags = flags;
    } else if (w === 'timeout') s.timeout = duration(r);
    else if (w === 'size') s.size = Number(r.word('a size'));
    else if (w === 'comment') s.comment = r.next('a comment').text;
    else if (w === 'gc-interval') duration(r);
    else if (w === 'policy') r.word('a policy');
    else if (w !== 'auto-merge') r.fail(`unknown set property ${JSON.stringify(w)}`);
    r.expect(';');
  }
}

// One element in the plain form the dump writes (a rule set has tens of thousands): read
// without the tokenizer, into the very object `elements` builds. Anything else (other spacing,
// escapes, timeouts, several elements) goes the general way.
const WORD = '[^\\s{}";,#]+';
const PLAIN_ELEMENT = new RegExp(
  `^add element (${WORD}) (${WORD}) (${WORD}) \\{ (${WORD}(?: \\. ${WORD})*)(?: comment "([^"\\\\]*)")?(?: : (?:(goto|jump) (${WORD})|(accept|drop|return|continue)))? \\}$`,
);

function plainElement(lineText: string, tables: Tables): boolean {
  if (!lineText.startsWith('add element ')) return false;
  const m = PLAIN_ELEMENT.exec(lineText);
  if (!m || !FAMILIES.has(m[1] as NftFamily)) return false;
  const s = tables.existingSet(m[1]!, m[2]!, m[3]!);
  if (!s) return false;
  const el: Element = { key: m[4]!.split(' . ') };
  if (m[5] !== undefined) el.comment = m[5];
  if (m[6] !== undefined) el.value = { kind: m[6] as 'goto' | 'jump', chain: m[7]! };
  else if (m[8] !== undefined) el.value = { kind: m[8] as 'accept' | 'drop' | 'return' | 'continue' };
  tables.addElements(s, [el]);
  return true;
}

function parseDumpLine(lineText: string, lineNo: number, tables: Tables): void {
  if (plainElement(lineText, tables)) return;
  const toks = tokenize(lineText).map((t) => ({ ...t, line: lineNo }));
  if (toks.length === 0) return;
  const r: Reader = new Reader(toks, 'nft command');
  const verb = r.word('a command');
  if (verb !== 'add' && verb !== 'create') r.fail(`unsupported command ${JSON.stringify(verb)} (only add and create are read)`);
  const kind = r.word('an object type');
  const fam = family(r);
  const tableName = r.word('a table name');
  if (kind === 'table') {
    const t = tables.table(fam, tableName, true, r);
    if (r.take('{')) {
      while (!r.take('}')) {
        const w = r.word('a table property');
        if (w === 'comment') t.comment = r.next('a comment').text;
        else if (w === 'flags') r.word('flags');
        else r.fail(`unknown table property ${JSON.stringify(w)}`);
        r.expect(';');
      }
    }
  } else {
    const t = tables.table(fam, tableName, false, r);
    const name = r.word('a name');
    if (kind === 'chain') {
      const c = tables.chain(t, name, true, r);
      if (r.take('{')) {
        while (!r.take('}')) {
          const w = r.word('a chain property');
          if (w === 'type') c.base = baseChain(r);
          else if (w === 'policy') {
            const p = r.word('accept or drop');
            const base = c.base;
            if (!base || (p !== 'accept' && p !== 'drop')) r.fail('a policy needs a base chain and must be accept or drop');
            base.policy = p;
          } else if (w === 'comment') c.comment = r.next('a comment').text;
          else r.fail(`unknown chain property ${JSON.stringify(w)}`);
          r.expect(';');
        }
      }
    } else if (kind === 'set' || kind === 'map') {
      setProps(r, tables.set(t, kind, name, true, r));
    } else if (kind === 'rule') {
      const c = tables.chain(t, name, false, r);
      if (r.take('index') || r.take('handle')) r.word('a number');
      const rest = toks.slice(r.i);
      if (rest.length === 0) r.fail('empty rule');
      c.rules.push(parseRule(rest, lineText.slice(rest[0]!.start), lineNo));
      return;
    } else if (kind === 'counter') {
      if (!(t.counters ??= []).includes(name)) t.counters.push(name);
      if (r.take('{')) skipBlock(r);
    } else if (kind === 'element') {
      const s = tables.set(t, 'set', name, false, r);
      r.expect('{');
      tables.addElements(s, elements(r));
    } else {
      r.fail(`unsupported object type ${JSON.stringify(kind)}`);
    }
  }
  if (!r.done()) r.fail('unexpected words at the end of the line');
}

// ---- the nested form of `nft list ruleset` ------------------------------------------------

/** Skips a `{ ... }` block whose opening brace was just read. */
function skipBlock(r: Reader): void {
  let depth = 1;
  while (depth > 0) {
    const t = r.next('"}"');
    if (!t.quoted && t.text === '{') depth++;
    if (!t.quoted && t.text === '}') depth--;
  }
}

function listSet(r: Reader, s: NftSet, tables: Tables): void {
  r.expect('{');
  while (!r.take('}')) {
    if (r.take(';')) continue;
    const t = r.next('a set property');
    const w = t.text;
    if (w === 'type') {
      setType(r, s);
      if (r.peek()?.line === t.line && !r.is(';') && !r.is('}')) r.fail('unexpected words after the set type');
    } else if (w === 'typeof') {
      typeofType(r, s, t.line);
      if (r.peek()?.line === t.line && !r.is(';') && !r.is('}')) r.fail('unexpected words after the set type');
    } else if (w === 'flags') {
      const flags = [r.word('a flag')];
      while (r.take(',')) flags.push(r.word('a flag'));
      s.flags = flags;
    } else if (w === 'timeout') s.timeout = duration(r);
    else if (w === 'gc-interval') duration(r);
    else if (w === 'size') s.size = Number(r.word('a size'));
    else if (w === 'policy') r.word('a policy');
    else if (w === 'comment') s.comment = r.next('a comment').text;
    else if (w === 'counter' || w === 'auto-merge') continue;
    else if (w === 'elements') {
      r.expect('=');
      r.expect('{');
      tables.addElements(s, elements(r));
    } else r.fail(`unknown set property ${JSON.stringify(w)}`, t);
  }
}

function listChain(r: Reader, c: Chain, text: string): void {
  r.expect('{');
  for (;;) {
    if (r.take('}')) return;
    if (r.take(';')) continue;
    const t = r.peek()!;
    if (r.take('type')) {
      c.base = baseChain(r);
      continue;
    }
    if (r.take('policy')) {
      const p = r.word('accept or drop');
      if (c.base && (p === 'accept' || p === 'drop')) c.base.policy = p;
      continue;
    }
    if (r.is('comment') && r.peek(1)?.quoted && r.peek(2)?.line !== t.line) {
      r.i++;
      c.comment = r.next('a comment').text;
      continue;
    }
    // A rule is the rest of its line (braces inside it stay on that line).
    const start = r.i;
    let depth = 0;
    while (!r.done()) {
      const u = r.peek()!;
      if (u.line !== t.line && depth === 0) break;
      if (!u.quoted && u.text === '{') depth++;
      if (!u.quoted && u.text === '}') {
        if (depth === 0) break;
        depth--;
      }
      r.i++;
    }
    const toks = r.toks.slice(start, r.i);
    c.rules.push(parseRule(toks, text.slice(toks[0]!.start, toks[toks.length - 1]!.end), t.line));
  }
}

function parseList(text: string, tables: Tables): void {
  const r: Reader = new Reader(tokenize(text), 'nft ruleset');
  while (!r.done()) {
    r.expect('table');
    const t = tables.table(family(r), r.word('a table name'), true, r);
    r.expect('{');
    while (!r.take('}')) {
      if (r.take(';')) continue;
      const w = r.word('chain, set or map');
      if (w === 'comment') t.comment = r.next('a comment').text;
      else if (w === 'flags') r.word('flags');
      else if (w === 'chain') listChain(r, tables.chain(t, r.word('a chain name'), true, r), text);
      else if (w === 'set' || w === 'map') listSet(r, tables.set(t, w, r.word('a name'), true, r), tables);
      else if (w === 'counter') {
        const name = r.word('a counter name');
        if (!(t.counters ??= []).includes(name)) t.counters.push(name);
        r.expect('{');
        skipBlock(r);
      } else {
        // flowtables, stateful objects and the like: not part of kube-proxy's rules. Some take
        // two words before their name (`ct helper NAME`, `ct timeout NAME`).
        r.word('a name');
        while (!r.take('{')) r.word('a name or {');
        skipBlock(r);
      }
    }
  }
}

/** Which form a text is in: the dump form starts with a command, the listing with `table`. */
export function nftTextForm(text: string): 'dump' | 'list' | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (/^(add|create)\s/.test(line)) return 'dump';
    if (/^table\s/.test(line)) return 'list';
    return undefined;
  }
  return undefined;
}

/** Reads either form (see the top of this file). */
export function parseNftables(text: string): NftRuleset {
  const tables = new Tables();
  const form = nftTextForm(text);
  if (form === 'list') parseList(text, tables);
  else if (form === 'dump') {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) parseDumpLine(lines[i]!, i + 1, tables);
  } else throw new RuleError('not an nft rule set: expected `add ...` commands or `nft list ruleset` output');
  return { tables: tables.list };
}
