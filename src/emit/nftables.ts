// IR → knftables' dump form: one `add ...` command per line, in the canonical order (table;
// chains by name; sets by name; maps by name; rules grouped by chain in chain-name order;
// elements of sets then maps, each set's lines sorted bytewise). That order puts every object
// before its users, so `nft -f` loads the file as one transaction.
import type { Chain, Element, Expr, KeyPart, NftRuleset, NftSet, Rule, SimpleVerdict, Table, Verdict } from '../ir/nftables.js';
import { EmittedLines } from './lines.js';

/** A double-quoted nft string (Go's %q, which is what knftables writes, for printable text). */
function quote(text: string): string {
  return JSON.stringify(text);
}

const not = (negate: boolean | undefined) => (negate ? '!= ' : '');

function formatKeyPart(k: KeyPart): string {
  switch (k.kind) {
    case 'addr':
      return `${k.l3} ${k.field}`;
    case 'l4proto':
      return 'meta l4proto';
    case 'thDport':
      return 'th dport';
  }
}

const LIST_MARK_OPS = { or: '|', xor: '^', and: '&' } as const;

export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'ctState':
      return `ct state ${not(e.negate)}${e.states.join(',')}`;
    case 'addr':
      return `${e.l3} ${e.field} ${not(e.negate)}${e.set ? `{ ${e.values.join(e.set.sep)} }` : e.values[0]}`;
    case 'lookup':
      return `${e.l3} ${e.field} ${not(e.negate)}@${e.set}`;
    case 'fibLocal':
      return `fib ${e.field} type ${not(e.negate)}local`;
    case 'l4proto':
      return `meta l4proto ${not(e.negate)}${e.protocol}`;
    case 'port':
      return `${e.protocol} ${e.field} ${not(e.negate)}${e.values.length === 1 ? e.values[0] : `{ ${e.values.join(', ')} }`}`;
    case 'ifname':
      return `${e.dir} ${not(e.negate)}${e.quoted ? quote(e.name) : e.name}`;
    case 'markMatch':
      return e.style === 'list'
        ? `meta mark & ${e.mask} ${e.negate ? '!=' : '=='} ${e.value}`
        : `mark and ${e.mask} ${e.negate ? '!=' : '=='} ${e.value}`;
    case 'markSet':
      return e.style === 'list' ? `meta mark set meta mark ${LIST_MARK_OPS[e.op]} ${e.value}` : `mark set mark ${e.op} ${e.value}`;
    case 'setUpdate':
      return `${e.op ?? 'update'} @${e.set} { ${e.l3} ${e.field} }`;
    case 'ctStatus':
      return `ct status ${not(e.negate)}${e.statuses.join(',')}`;
    case 'concatLookup':
      return `${e.key.map(formatKeyPart).join(' . ')} ${not(e.negate)}@${e.set}`;
    case 'counter':
    case 'other':
      return e.text;
  }
}

export function formatSimpleVerdict(v: SimpleVerdict): string {
  return v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.chain}` : v.kind;
}

function formatVerdict(v: Verdict): string {
  switch (v.kind) {
    case 'reject':
      return v.with ? `reject with ${v.with}` : 'reject';
    case 'vmap':
      return `${v.key.map(formatKeyPart).join(' . ')} vmap @${v.map}`;
    case 'numgen': {
      // Loops rather than map/join here and below: a large cluster has one of these per
      // service port, ten entries each, and the intermediate arrays were most of the cost.
      let s = `numgen random mod ${v.mod} vmap { `;
      for (let i = 0; i < v.entries.length; i++) {
        const e = v.entries[i]!;
        s += (i === 0 ? '' : v.sep) + e.index + ' : ' + formatSimpleVerdict(e.verdict);
      }
      return s + ' }';
    }
    case 'dnat':
      return v.l3 ? `dnat ${v.l3} to ${v.to}` : `dnat to ${v.to}`;
    case 'dnatMap': {
      let s = `dnat ${v.l3} ${v.style === 'list' ? '' : 'addr . port '}to numgen random mod ${v.mod} map { `;
      for (let i = 0; i < v.entries.length; i++) {
        const e = v.entries[i]!;
        s += (i === 0 ? '' : v.sep) + e.index + ' : ' + e.ip + ' . ' + e.port;
      }
      return s + ' }';
    }
    case 'masquerade':
      return v.fullyRandom ? 'masquerade fully-random' : 'masquerade';
    case 'other':
      return v.text;
    default:
      return formatSimpleVerdict(v);
  }
}

/** The rule as nft reads it (after `add rule FAMILY TABLE CHAIN`). */
export function formatRule(rule: Rule): string {
  let s = '';
  const exprs = rule.exprs;
  for (let i = 0; i < exprs.length; i++) s += (s === '' ? '' : ' ') + formatExpr(exprs[i]!);
  if (rule.verdict) s += (s === '' ? '' : ' ') + formatVerdict(rule.verdict);
  if (rule.comment !== undefined) s += (s === '' ? '' : ' ') + `comment ${quote(rule.comment)}`;
  return s;
}

function chainLine(prefix: string, c: Chain): string {
  if (!c.base && c.comment === undefined) return `add chain ${prefix} ${c.name}`;
  let body = '';
  if (c.base) {
    body += ` type ${c.base.type} hook ${c.base.hook} priority ${c.base.priority} ;`;
    // knftables never writes a policy; accept is the default, so only drop needs saying.
    if (c.base.policy === 'drop') body += ' policy drop ;';
  }
  if (c.comment !== undefined) body += ` comment ${quote(c.comment)} ;`;
  return `add chain ${prefix} ${c.name} {${body} }`;
}

function setLine(prefix: string, s: NftSet): string {
  let body = ` type ${s.keyType.join(' . ')}${s.dataType ? ` : ${s.dataType}` : ''} ;`;
  if (s.flags && s.flags.length > 0) body += ` flags ${s.flags.join(',')} ;`;
  if (s.timeout !== undefined) body += ` timeout ${s.timeout}s ;`;
  if (s.size !== undefined) body += ` size ${s.size} ;`;
  if (s.comment !== undefined) body += ` comment ${quote(s.comment)} ;`;
  return `add ${s.kind} ${prefix} ${s.name} {${body} }`;
}

export function formatElement(e: Element): string {
  const key = e.key;
  let s = key.length === 0 ? '{ ' : '{ ' + key[0];
  for (let i = 1; i < key.length; i++) s += ' . ' + key[i];
  if (e.comment !== undefined) s += ` comment ${quote(e.comment)}`;
  if (e.value) s += ` : ${formatSimpleVerdict(e.value)}`;
  return `${s} }`;
}

const nameOrder = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * By name in byte order (names are ASCII, so the native string order is byte order); of two
 * objects with one name the later wins. Sorting the objects themselves costs half of sorting
 * their names and looking each up again (a cluster has 10^4 chains).
 */
function byName<T extends { name: string }>(items: T[]): T[] {
  const sorted = items.slice().sort(nameOrder);
  for (let i = 1; i < sorted.length; i++) if (sorted[i - 1]!.name === sorted[i]!.name) return lastOfEachName(sorted);
  return sorted;
}

/** A stable sort keeps equal names in their given order: the last of each run is the later one. */
function lastOfEachName<T extends { name: string }>(sorted: T[]): T[] {
  return sorted.filter((item, i) => i + 1 === sorted.length || sorted[i + 1]!.name !== item.name);
}

// Pieces of about this many characters: a large rule set is streamed, never one giant string.
const CHUNK = 1 << 16;

/** A table's objects in the order they are written. */
interface TableOrder {
  chains: Chain[];
  sets: NftSet[];
  maps: NftSet[];
  counters: string[];
}

function orderOf(t: Table): TableOrder {
  return {
    chains: byName(t.chains),
    sets: byName(t.sets.filter((s) => s.kind === 'set')),
    maps: byName(t.sets.filter((s) => s.kind === 'map')),
    counters: [...(t.counters ?? [])].sort(),
  };
}

/** A set's elements in the order written: by their text (every line shares the head). */
function sortedElements(s: NftSet): { text: string; element: Element }[] {
  return s.elements
    .map((element) => ({ text: formatElement(element), element }))
    .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}

/**
 * Where emitNftablesChunks writes each chain, set, map, rule and element, recorded in LINES.
 * Every command is one line, so the layout is counts, except for elements, which are written
 * sorted by their text. It mirrors the writing loop below; a test holds the two together.
 */
export function layOutNftables(rs: NftRuleset, lines: EmittedLines = new EmittedLines()): EmittedLines {
  let line = 0;
  for (const t of rs.tables) {
    const { chains, sets, maps, counters } = orderOf(t);
    const headers = line + 1; // after "add table"
    let rule = headers + chains.length + sets.length + maps.length + counters.length + 1;
    chains.forEach((c, k) => {
      lines.addChain(c, headers + k + 1, rule);
      rule += c.rules.length;
    });
    [...sets, ...maps].forEach((s, k) => lines.addSet(s, headers + chains.length + k + 1));
    line = rule - 1;
    for (const s of [...sets, ...maps]) for (const { element } of sortedElements(s)) lines.addElement(element, ++line);
  }
  return lines;
}

function* tableChunks(t: Table): Generator<string, void, undefined> {
  const prefix = `${t.family} ${t.name}`;
  let out = t.comment !== undefined ? `add table ${prefix} { comment ${quote(t.comment)} ; }\n` : `add table ${prefix}\n`;
  const { chains, sets, maps, counters } = orderOf(t);
  for (const c of chains) out += chainLine(prefix, c) + '\n';
  for (const s of sets) out += setLine(prefix, s) + '\n';
  for (const m of maps) out += setLine(prefix, m) + '\n';
  for (const name of counters) out += `add counter ${prefix} ${name}\n`;
  for (const c of chains) {
    const head = `add rule ${prefix} ${c.name} `;
    for (const r of c.rules) {
      out += head + formatRule(r) + '\n';
      if (out.length >= CHUNK) {
        yield out;
        out = '';
      }
    }
  }
  for (const s of [...sets, ...maps]) {
    const head = `add element ${prefix} ${s.name} `;
    // Every line shares the head, so sorting the elements' text sorts the lines.
    const lines = s.elements.map(formatElement).sort();
    for (const l of lines) {
      out += head + l + '\n';
      if (out.length >= CHUNK) {
        yield out;
        out = '';
      }
    }
  }
  if (out !== '') yield out;
}

/**
 * The whole rule set as `nft -f` input, one command per line, in pieces. Given LINES, it
 * records where each chain, set, rule and element lands.
 */
export function* emitNftablesChunks(rs: NftRuleset, lines?: EmittedLines): Generator<string, void, undefined> {
  if (lines) layOutNftables(rs, lines);
  for (const t of rs.tables) yield* tableChunks(t);
}

/** The whole rule set as one string (for tools that work on the text). */
export function emitNftables(rs: NftRuleset, lines?: EmittedLines): string {
  let out = '';
  for (const piece of emitNftablesChunks(rs, lines)) out += piece;
  return out;
}
