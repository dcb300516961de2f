// The comparison form of an nftables rule, element or declaration: the same key means the same
// effect on packets, however knftables' dump or `nft list ruleset` spelled it. Folded together:
//  - addresses: canonical, /32 and /128 dropped; `{ a }` and `a`; the elements of an anonymous
//    set in any order;
//  - marks as numbers (`mark and 0x4000 == 0` and `meta mark & 0x00004000 == 0x00000000`);
//  - the order of pure matches (statements with side effects - mark set, set update, anything
//    unknown - keep their place); `counter` statements (they count, they do not decide);
//  - numgen's index → chain assignment: a random pick among the same chains is the same pick;
//  - a base chain's default `policy accept`; a set's `size`, and its timeout's spelling (3h);
//  - comments (as for iptables: they are read for attribution, never compared).
// Chain and set names in verdicts and lookups are references that the caller resolves (an
// endpoint chain by its endpoint), as in iptables-key.ts.
import type { BaseChain, Element, Expr, NftSet, Rule, SimpleVerdict, Verdict } from './nftables.js';
import { canonicalAddress, canonicalHostPort } from '../util/canonical.js';
import { fillKey, hex, num as number, REF, type NormalRule } from './iptables-key.js';

const neg = (n: boolean | undefined) => (n ? '!=' : '');

function num(text: string): string {
  const n = number(text);
  return n === undefined ? text.trim() : hex(n);
}

const values = (vs: string[]) => [...new Set(vs.map(canonicalAddress))].sort().join(',');

/** A key part of an element or a port: canonical address, number, or word as written. */
function keyPart(part: string): string {
  if (/^\d+$/.test(part)) return String(Number(part));
  if (/^[a-z]+$/.test(part)) return part;
  return canonicalAddress(part);
}

function simple(v: SimpleVerdict, refs: string[]): string {
  if (v.kind === 'jump' || v.kind === 'goto') {
    refs.push(v.chain);
    return `${v.kind} ${REF}`;
  }
  return v.kind;
}

function verdictKey(v: Verdict | undefined, refs: string[]): string {
  if (!v) return '-';
  switch (v.kind) {
    case 'reject':
      return `reject ${v.with ?? ''}`;
    case 'vmap':
      return `vmap ${v.key.map((k) => (k.kind === 'addr' ? `${k.l3} ${k.field}` : k.kind)).join('.')} @${v.map}`;
    case 'numgen': {
      // Sorted by the resolved target, after the caller fills the refs: see fillNft.
      const targets = v.entries.map((e) => simple(e.verdict, refs));
      return `numgen ${v.mod} {${targets.join(',')}}`;
    }
    case 'dnat':
      return `dnat ${canonicalHostPort(v.to)}`;
    case 'dnatMap': {
      // A random pick among the same endpoints is the same pick, whatever the index order.
      const targets = v.entries.map((e) => `${canonicalAddress(e.ip)} . ${e.port}`).sort();
      return `dnatmap ${v.mod} {${targets.join(',')}}`;
    }
    case 'masquerade':
      return `masquerade${v.fullyRandom ? ' fully-random' : ''}`;
    case 'other':
      return `other ${v.text.replace(/\s+/g, ' ')}`;
    default:
      return simple(v, refs);
  }
}

function pure(e: Expr, refs: string[]): string | undefined {
  switch (e.kind) {
    case 'ctState':
      return `ct state${neg(e.negate)} ${[...e.states].sort().join(',')}`;
    case 'addr':
      return `${e.l3} ${e.field}${neg(e.negate)} ${values(e.values)}`;
    case 'lookup':
      refs.push(e.set);
      return `${e.l3} ${e.field}${neg(e.negate)} @${REF}`;
    case 'fibLocal':
      return `fib ${e.field}${neg(e.negate)} local`;
    case 'l4proto':
      return `l4proto${neg(e.negate)} ${e.protocol}`;
    case 'port':
      return `${e.protocol} ${e.field}${neg(e.negate)} ${[...e.values].map(keyPart).sort().join(',')}`;
    case 'ifname':
      return `${e.dir}${neg(e.negate)} ${e.name}`;
    case 'markMatch':
      return `mark & ${num(e.mask)} ${e.negate ? '!=' : '=='} ${num(e.value)}`;
    case 'ctStatus':
      return `ct status${neg(e.negate)} ${[...e.statuses].sort().join(',')}`;
    case 'concatLookup':
      refs.push(e.set);
      return `${e.key.map((k) => (k.kind === 'addr' ? `${k.l3} ${k.field}` : k.kind)).join('.')}${neg(e.negate)} @${REF}`;
    default:
      return undefined;
  }
}

export function normalizeNftRule(rule: Rule): NormalRule {
  const refs: string[] = [];
  const parts: string[] = [];
  let segment: { text: string; refs: string[] }[] = [];
  const flush = () => {
    segment.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    for (const s of segment) {
      parts.push(s.text);
      refs.push(...s.refs);
    }
    segment = [];
  };
  for (const e of rule.exprs) {
    if (e.kind === 'counter') continue;
    const own: string[] = [];
    const p = pure(e, own);
    if (p !== undefined) {
      segment.push({ text: p, refs: own });
      continue;
    }
    flush();
    if (e.kind === 'markSet') parts.push(`mark set ${e.op} ${num(e.value)}`);
    else if (e.kind === 'setUpdate') {
      refs.push(e.set);
      parts.push(`${e.op ?? 'update'} @${REF} ${e.l3} ${e.field}`);
    } else parts.push(`other ${(e as { text: string }).text.replace(/\s+/g, ' ')}`);
  }
  flush();
  const body = `${parts.join(' ; ')} | ${verdictKey(rule.verdict, refs)}`;
  return { body, refs };
}

/**
 * Fills the references. numgen targets are sorted once resolved, so a permutation of the same
 * endpoint chains compares equal.
 */
export function fillNft(n: NormalRule, resolve: (name: string) => string): string {
  return fillKey(n, resolve).replace(
    /numgen (\d+) \{([^}]*)\}/,
    (_, mod: string, list: string) => `numgen ${mod} {${list.split(',').sort().join(',')}}`,
  );
}

/** An element of map or set `set`, with its verdict's chain as a reference. */
export function normalizeElement(set: string, e: Element): NormalRule {
  const refs: string[] = [];
  const value = e.value ? ` : ${simple(e.value, refs)}` : '';
  return { body: `${set} ${e.key.map(keyPart).join(' . ')}${value}`, refs };
}

export function baseChainKey(b: BaseChain): string {
  return `type ${b.type} hook ${b.hook} priority ${b.priority} policy ${b.policy ?? 'accept'}`;
}

export function setKey(s: NftSet): string {
  const flags = [...(s.flags ?? [])].sort().join(',');
  return `${s.kind} ${s.name} type ${s.keyType.join(' . ')}${s.dataType ? ` : ${s.dataType}` : ''} flags ${flags} timeout ${s.timeout ?? ''}`;
}
