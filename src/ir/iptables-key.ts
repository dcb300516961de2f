// The comparison form of an iptables rule: two rules with the same key do the same thing to
// every packet, however they were spelled. What is folded together, and why:
//
// - Addresses: canonical text, host bits cleared, /32 and /128 dropped (iptables-save adds
//   them). DNAT targets likewise.
// - Option order: the IP-header options (-p -s -d -i -o) are evaluated before any match module,
//   and the pure match modules are ANDed, so their order is irrelevant: they are sorted.
//   Matches with side effects (recent --set/--update, nfacct, anything unknown) stay where they
//   are relative to the others, since which packets reach them depends on what precedes them;
//   `recent` stays in place even when it only reads (iptables-save keeps modules in order).
// - `-m tcp` / `-m udp` / `-m sctp` next to `-p` of the same protocol: implied, dropped.
// - Probabilities: the kernel keeps `probability * 2^31` as an integer; that integer is the key,
//   so kube-proxy's 10 digits and iptables-save's 11 compare equal.
// - MARK targets: --or-mark, --xor-mark, --and-mark, --set-mark are all --set-xmark V/M to the
//   kernel (iptables-save prints them so); marks compare as numbers.
// - REJECT without --reject-with is icmp(6)-port-unreachable; recent's default --mask and
//   --rsource are dropped; conntrack states are a set.
// - Comments are NOT part of the key. They never change what a packet does, and kube-proxy
//   drops them from endpoint rules once a cluster has more than 1000 endpoints, so a key with
//   comments would turn crossing that line into a diff of every endpoint rule. They are still
//   read to attribute rules to services, and shown in the rule text.
// - Chain names in jumps and recent lists are left as references: the caller replaces a
//   service chain by what it is (its service port and role, an SEP chain by its endpoint), so
//   a renamed hash is not a difference.
import type { Match, Rule, Target } from './iptables.js';
import { canonicalAddress, canonicalHostPort } from '../util/canonical.js';
import type { Family } from '../util/ip.js';

/** A rule's key with the chain references left open: key = body filled with refs. */
export interface NormalRule {
  /** Everything but the chain names, with `\u0001` where each ref goes. */
  body: string;
  /** Chain names referenced, in the order of the placeholders. */
  refs: string[];
}

/** Where a reference goes in a key's body (both backends' keys). */
export const REF = '\u0001';

/** A 32-bit number written in decimal or hex, as the kernel holds it. */
export function num(text: string): number | undefined {
  const t = text.trim();
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(t)) return undefined;
  return Number(t) >>> 0;
}

export const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

function markKey(value: string, mask: string | undefined): string {
  const v = num(value);
  const m = mask === undefined ? 0xffffffff : num(mask);
  return v === undefined || m === undefined ? `${value}/${mask ?? ''}` : `${hex(v)}/${hex(m)}`;
}

/** The MARK target as the kernel holds it: new = (old & ~mask) ^ value. */
function markTarget(op: string, value: string): string {
  const [v0, m0] = value.split('/');
  const v = num(v0 ?? '');
  if (v === undefined) return `${op}:${value}`;
  switch (op) {
    case 'or':
      return `${hex(v)}/${hex(v)}`;
    case 'xor':
      return `${hex(v)}/0x0`;
    case 'and':
      return `0x0/${hex(~v)}`;
    case 'set':
    case 'set-xmark': {
      const m = m0 === undefined ? 0xffffffff : num(m0);
      return m === undefined ? `${op}:${value}` : `${hex(v)}/${hex(m)}`;
    }
    default:
      return `${op}:${value}`;
  }
}

function portKey(port: string): string {
  return port
    .split(':')
    .map((p) => (/^\d+$/.test(p) ? String(Number(p)) : p))
    .join(':');
}

/** The kernel's fixed-point probability (xt_statistic): what both spellings become. */
function probabilityUnits(text: string): number {
  return Math.round(Number(text) * 0x80000000);
}

const ALL_ONES_V4 = '255.255.255.255';
const ALL_ONES_V6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

const neg = (n: boolean | undefined) => (n ? '!' : '');

function headerKey(m: Match): string | undefined {
  switch (m.kind) {
    case 'protocol':
      return `p${neg(m.negate)}${m.protocol.toLowerCase()}`;
    case 'source':
      return `s${neg(m.negate)}${canonicalAddress(m.cidr)}`;
    case 'destination':
      return `d${neg(m.negate)}${canonicalAddress(m.cidr)}`;
    case 'inInterface':
      return `i${neg(m.negate)}${m.name}`;
    case 'outInterface':
      return `o${neg(m.negate)}${m.name}`;
    default:
      return undefined;
  }
}

function defaultReject(family: Family): string {
  return family === 'ipv6' ? 'icmp6-port-unreachable' : 'icmp-port-unreachable';
}

function targetKey(t: Target | undefined, family: Family, refs: string[]): string {
  if (!t) return '-';
  switch (t.kind) {
    case 'jump':
    case 'goto':
      refs.push(t.chain);
      return `${t.kind}:${REF}`;
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return t.kind;
    case 'REJECT':
      return `REJECT:${t.rejectWith ?? defaultReject(family)}`;
    case 'DNAT':
    case 'SNAT':
      return `${t.kind}:${canonicalHostPort(t.to)}`;
    case 'MARK':
      return `MARK:${markTarget(t.op, t.value)}`;
    case 'MASQUERADE':
      return `MASQUERADE:${t.randomFully ? 'random-fully' : ''}:${t.toPorts ?? ''}`;
    case 'other':
      return `other:${t.text.replace(/\s+/g, ' ')}`;
  }
}

/**
 * The normal form of one rule. Pure in (rule, family): callers cache it per Rule object, which
 * the diff's reader shares between identical lines of the two sides.
 */
export function normalizeRule(rule: Rule, family: Family): NormalRule {
  const refs: string[] = [];
  const header: string[] = [];
  const protocols = new Set<string>();
  for (const m of rule.matches) if (m.kind === 'protocol' && !m.negate) protocols.add(m.protocol.toLowerCase());

  const parts: string[] = [];
  let segment: string[] = [];
  const flush = () => {
    if (segment.length > 0) parts.push(segment.sort().join(' '));
    segment = [];
  };
  for (const m of rule.matches) {
    const h = headerKey(m);
    if (h !== undefined) {
      header.push(h);
      continue;
    }
    switch (m.kind) {
      case 'comment':
        break;
      case 'module':
        if (!protocols.has(m.name)) segment.push(`m:${m.name}`);
        break;
      case 'dport':
      case 'sport':
        segment.push(`${m.kind}${neg(m.negate)}${portKey(m.port)}`);
        break;
      case 'addrtype':
        segment.push(`addrtype:${m.direction}${neg(m.negate)}${m.type.toUpperCase()}`);
        break;
      case 'mark':
        segment.push(`mark${neg(m.negate)}${markKey(m.value, m.mask)}`);
        break;
      case 'conntrack':
        segment.push(
          `ct${neg(m.negate)}${[...m.states]
            .map((s) => s.toUpperCase())
            .sort()
            .join(',')}`,
        );
        break;
      case 'statistic':
        segment.push(`prob:${probabilityUnits(m.probability)}`);
        break;
      case 'recent': {
        const mask = m.mask === undefined || m.mask === ALL_ONES_V4 || m.mask === ALL_ONES_V6 ? '' : m.mask;
        const side = m.side === 'rdest' ? 'rdest' : '';
        refs.push(m.name);
        // Kept in place even for rcheck (which only reads): the placeholders must stay in the
        // order of the refs, and iptables-save keeps match modules in the order written.
        flush();
        parts.push(`recent:${m.action}:${REF}:${m.seconds ?? ''}:${m.reap ? 'reap' : ''}:${mask}:${side}`);
        break;
      }
      case 'nfacct':
        flush();
        parts.push(`nfacct:${m.name}`);
        break;
      case 'other':
        flush();
        parts.push(`other:${m.text.replace(/\s+/g, ' ')}`);
        break;
    }
  }
  flush();
  const body = `${header.sort().join(' ')} | ${parts.join(' ; ')} | ${targetKey(rule.target, family, refs)}`;
  return { body, refs };
}

/** Fills a body's placeholders with the names the caller resolved the refs to. */
export function fillKey(n: NormalRule, resolve: (chain: string) => string): string {
  if (n.refs.length === 0) return n.body;
  let i = 0;
  return n.body.replace(/\u0001/g, () => resolve(n.refs[i++] ?? ''));
}

/**
 * The key of a rule with the chains it names left as written. Two rule lists with the same raw
 * keys have the same keys once the names are resolved, as long as each name stands for the
 * same thing on both sides, which kube-proxy's hashed names (of service port and endpoint) do.
 */
export function rawKey(rule: Rule, family: Family, cache: WeakMap<Rule, string>): string {
  let k = cache.get(rule);
  if (k === undefined) cache.set(rule, (k = fillKey(normalizeRule(rule, family), (c) => c)));
  return k;
}
