// IR → knftables' dump form: one `add ...` command per line, in the canonical order (table;
// chains by name; sets by name; maps by name; rules grouped by chain in chain-name order;
// elements of sets then maps, each set's lines sorted bytewise). That order puts every object
// before its users, so `nft -f` loads the file as one transaction.
import type { Chain, Element, Expr, KeyPart, NftRuleset, NftSet, Rule, SimpleVerdict, Table, Verdict } from '../ir/nftables.js';
import { compareBytes } from '../ir/nftables.js';

/** A double-quoted nft string (Go's %q, which is what knftables writes, for printable text). */
export function quote(text: string): string {
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
    case 'counter':
    case 'other':
      return e.text;
  }
}

export function formatSimpleVerdict(v: SimpleVerdict): string {
  return v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.chain}` : v.kind;
}

export function formatVerdict(v: Verdict): string {
  switch (v.kind) {
    case 'reject':
      return v.with ? `reject with ${v.with}` : 'reject';
    case 'vmap':
      return `${v.key.map(formatKeyPart).join(' . ')} vmap @${v.map}`;
    case 'numgen':
      return `numgen random mod ${v.mod} vmap { ${v.entries.map((e) => `${e.index} : ${formatSimpleVerdict(e.verdict)}`).join(v.sep)} }`;
    case 'dnat':
      return `dnat to ${v.to}`;
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
  const parts = rule.exprs.map(formatExpr);
  if (rule.verdict) parts.push(formatVerdict(rule.verdict));
  if (rule.comment !== undefined) parts.push(`comment ${quote(rule.comment)}`);
  return parts.join(' ');
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
  let s = `{ ${e.key.join(' . ')}`;
  if (e.comment !== undefined) s += ` comment ${quote(e.comment)}`;
  if (e.value) s += ` : ${formatSimpleVerdict(e.value)}`;
  return `${s} }`;
}

const byName = <T extends { name: string }>(a: T, b: T) => compareBytes(a.name, b.name);

function emitTable(t: Table, out: string[]): void {
  const prefix = `${t.family} ${t.name}`;
  out.push(t.comment !== undefined ? `add table ${prefix} { comment ${quote(t.comment)} ; }` : `add table ${prefix}`);
  const chains = [...t.chains].sort(byName);
  const sets = t.sets.filter((s) => s.kind === 'set').sort(byName);
  const maps = t.sets.filter((s) => s.kind === 'map').sort(byName);
  for (const c of chains) out.push(chainLine(prefix, c));
  for (const s of sets) out.push(setLine(prefix, s));
  for (const m of maps) out.push(setLine(prefix, m));
  for (const c of chains) {
    const head = `add rule ${prefix} ${c.name} `;
    for (const r of c.rules) out.push(head + formatRule(r));
  }
  for (const s of [...sets, ...maps]) {
    const head = `add element ${prefix} ${s.name} `;
    const lines = s.elements.map((e) => head + formatElement(e));
    lines.sort(compareBytes);
    for (const l of lines) out.push(l);
  }
}

/** The whole rule set as `nft -f` input, one command per line. */
export function emitNftables(rs: NftRuleset): string {
  const out: string[] = [];
  for (const t of rs.tables) emitTable(t, out);
  return out.join('\n') + '\n';
}
