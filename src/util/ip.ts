// IP and CIDR handling with kube-proxy's reading rules.
//
// kube-proxy parses addresses with k8s.io/utils/net's "sloppy" parser (a fork of Go 1.16's
// net.ParseIP): IPv4 octets may carry leading zeros and are read as DECIMAL (010 is ten, never
// eight), and an IPv4-mapped IPv6 address (::ffff:1.2.3.4) is an IPv4 address. Output is always
// Go's canonical text: dotted quad, or RFC 5952 compressed lowercase IPv6.

/** The address family of a proxier, a rule set or an address: the one name every stage uses. */
export type Family = 'ipv4' | 'ipv6';
/** The older name of Family, still imported by the model. */
export type IPFamily = Family;

/** A parsed address: 16 bytes, v4 addresses stored v4-mapped (as Go does). */
export interface IP {
  readonly family: IPFamily;
  readonly bytes: Uint8Array; // length 16
}

export interface CIDR {
  readonly ip: IP; // network address (host bits cleared)
  readonly prefix: number; // in the family's own bit count (32 or 128)
}

const V4_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

// Go 1.16's number readers, which the sloppy parser keeps: as many digits as the text holds
// (so any number of leading zeros), stopping with failure once the value reaches 0xFFFFFF.
const BIG = 0xffffff;

/** Decimal digits at the start of S: [value, digits consumed], or undefined (none, or too big). */
function dtoi(s: string, from: number): [number, number] | undefined {
  let n = 0;
  let i = from;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    if (n >= BIG) return undefined;
  }
  return i === from ? undefined : [n, i - from];
}

/** Hex digits at the start of S, as dtoi. */
function xtoi(s: string, from: number): [number, number] | undefined {
  let n = 0;
  let i = from;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    n = n * 16 + d;
    if (n >= BIG) return undefined;
  }
  return i === from ? undefined : [n, i - from];
}

/** Dotted decimal, four octets, each read as dtoi reads them (010 is ten, 0000172 is 172). */
function parseIPv4Into(s: string, out: Uint8Array, at: number): boolean {
  // Digit by digit, without dtoi's pairs: every endpoint address of a cluster comes through here.
  let pos = 0;
  for (let i = 0; i < 4; i++) {
    if (i > 0) {
      if (s.charCodeAt(pos) !== 46) return false; // '.'
      pos++;
    }
    const start = pos;
    let n = 0;
    for (; pos < s.length; pos++) {
      const c = s.charCodeAt(pos);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      if (n >= BIG) return false;
    }
    if (pos === start || n > 0xff) return false;
    out[at + i] = n;
  }
  return pos === s.length;
}

/** Whether TEXT is an IPv4 address already in canonical form: four octets 0-255, no leading zeros. */
function isCanonicalIPv4(text: string): boolean {
  let octets = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // the end closes the last octet like a '.'
    if (c === 46) {
      if (digits === 0 || value > 255) return false;
      octets++;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; // a leading zero
      if (++digits > 3) return false;
      value = value * 10 + (c - 48);
    } else return false;
  }
  return octets === 4;
}

/** The first '.' or ':' in TEXT, as a character code, or 0 when there is none. */
function firstSeparator(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 || c === 58) return c;
  }
  return 0;
}

/** Parses an IP address the way kube-proxy does; returns undefined when it is not one. */
export function parseIP(text: string): IP | undefined {
  // Go looks at the first '.' or ':' to pick the family.
  const sep = firstSeparator(text);
  if (sep === 0) return undefined;
  const bytes = new Uint8Array(16);
  if (sep === 46) {
    bytes[10] = 0xff; // v4-mapped: ::ffff:a.b.c.d
    bytes[11] = 0xff;
    return parseIPv4Into(text, bytes, 12) ? { family: 'ipv4', bytes } : undefined;
  }
  // IPv6, possibly with one '::' and an embedded trailing IPv4.
  let s = text;
  let ellipsis = -1;
  let i = 0;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return { family: 'ipv6', bytes };
  }
  while (i < 16) {
    const x = xtoi(s, 0);
    if (!x || x[0] > 0xffff) return undefined;
    const [n, c] = x;
    // An embedded IPv4 address may stand in for the last 32 bits.
    if (c < s.length && s[c] === '.') {
      if (ellipsis < 0 && i !== 12) return undefined;
      if (i + 4 > 16) return undefined;
      if (!parseIPv4Into(s, bytes, i)) return undefined;
      i += 4;
      s = '';
      break;
    }
    bytes[i] = n >> 8;
    bytes[i + 1] = n & 0xff;
    i += 2;
    s = s.slice(c);
    if (s.length === 0) break;
    if (s[0] !== ':' || s.length === 1) return undefined;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return undefined;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return undefined;
  if (i < 16) {
    if (ellipsis < 0) return undefined;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) bytes[j + n] = bytes[j]!;
    for (let j = ellipsis + n - 1; j >= ellipsis; j--) bytes[j] = 0;
  } else if (ellipsis >= 0) {
    return undefined; // '::' must stand for at least one group
  }
  const mapped = V4_PREFIX.every((b, k) => bytes[k] === b);
  return { family: mapped ? 'ipv4' : 'ipv6', bytes };
}

export function formatIP(ip: IP): string {
  const b = ip.bytes;
  if (ip.family === 'ipv4') return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let k = 0; k < 16; k += 2) groups.push((b[k]! << 8) | b[k + 1]!);
  // Longest run of two or more zero groups, first one on ties (Go and RFC 5952).
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && groups[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':');
  return `${head}::${tail}`;
}

/** Canonical text of an IP, or undefined when it does not parse. */
export function canonicalIP(text: string): string | undefined {
  // Most addresses in a cluster are canonical IPv4 already: checked without parsing.
  if (isCanonicalIPv4(text)) return text;
  const ip = parseIP(text);
  return ip ? formatIP(ip) : undefined;
}

export function familyOf(text: string): IPFamily | undefined {
  return isCanonicalIPv4(text) ? 'ipv4' : parseIP(text)?.family;
}

/** Bits in an address of the family: 32 or 128. */
export function bitLength(family: Family): number {
  return family === 'ipv4' ? 32 : 128;
}

function maskBytes(ip: IP, prefix: number): Uint8Array {
  const offset = ip.family === 'ipv4' ? 96 : 0;
  const total = offset + prefix;
  const out = new Uint8Array(ip.bytes);
  for (let bit = total; bit < 128; bit++) {
    out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  // Keep the v4-mapped prefix intact for IPv4 networks.
  if (ip.family === 'ipv4') V4_PREFIX.forEach((v, k) => (out[k] = v));
  return out;
}

/** Parses "addr/prefix" as kube-proxy does (sloppy IP, decimal prefix); host bits are cleared. */
export function parseCIDR(text: string): CIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const p = text.slice(slash + 1);
  // Go reads the prefix length with dtoi too: leading zeros allowed, nothing after the digits.
  const d = ip ? dtoi(p, 0) : undefined;
  if (!ip || !d || d[1] !== p.length) return undefined;
  const prefix = d[0];
  if (prefix > bitLength(ip.family)) return undefined;
  return { ip: { family: ip.family, bytes: maskBytes(ip, prefix) }, prefix };
}

export function formatCIDR(c: CIDR): string {
  return `${formatIP(c.ip)}/${c.prefix}`;
}

export function canonicalCIDR(text: string): string | undefined {
  const c = parseCIDR(text);
  return c ? formatCIDR(c) : undefined;
}

export function cidrContains(c: CIDR, ip: IP): boolean {
  if (c.ip.family !== ip.family) return false;
  const masked = maskBytes(ip, c.prefix);
  for (let k = 0; k < 16; k++) if (masked[k] !== c.ip.bytes[k]) return false;
  return true;
}

export function isLoopback(ip: IP): boolean {
  if (ip.family === 'ipv4') return ip.bytes[12] === 127;
  return ip.bytes.every((b, k) => (k === 15 ? b === 1 : b === 0));
}

/** "ip:port", with brackets for IPv6, as Go's net.JoinHostPort writes it. */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// Matchers: an address against a network, as netfilter compares them ((ip & mask) == (net & mask)).

/** A network as a rule matches it: any mask, contiguous or not (iptables allows both). */
export interface Network {
  readonly family: Family;
  /** The address as written, host bits kept (the kernel masks both sides). */
  readonly ip: IP;
  /** 16 bytes; for IPv4 only the last 4 count. */
  readonly mask: Uint8Array;
  /** The prefix length when the mask is contiguous, else undefined. */
  readonly prefix: number | undefined;
}

function prefixMask(family: Family, prefix: number): Uint8Array {
  const out = new Uint8Array(16);
  const offset = family === 'ipv4' ? 96 : 0;
  for (let bit = offset; bit < offset + prefix; bit++) out[bit >> 3]! |= 0x80 >> (bit & 7);
  return out;
}

/** The prefix length a mask stands for, or undefined when its ones are not contiguous. */
export function maskPrefix(family: Family, mask: Uint8Array): number | undefined {
  const offset = family === 'ipv4' ? 96 : 0;
  let ones = 0;
  while (ones < 128 - offset && mask[(offset + ones) >> 3]! & (0x80 >> ((offset + ones) & 7))) ones++;
  for (let bit = offset + ones; bit < 128; bit++) if (mask[bit >> 3]! & (0x80 >> (bit & 7))) return undefined;
  return ones;
}

/** A network from an address and a prefix length. */
function prefixNetwork(ip: IP, prefix: number): Network {
  return { family: ip.family, ip, mask: prefixMask(ip.family, prefix), prefix };
}

/**
 * An address match as iptables-save and ip6tables-save print it: `1.2.3.4`, `1.2.3.4/24`,
 * `10.0.0.0/255.0.0.0` (a dotted mask, contiguous or not), `2001:db8::/32`,
 * `2001:db8::/ffff:ffff::` (an IPv6 mask). Host bits may be set, as iptables keeps them. Returns
 * why it is not one, as text, when it does not read or is of the other family.
 */
export function parseNetwork(text: string, family: Family): Network | string {
  const slash = text.indexOf('/');
  const ip = parseIP(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return `${JSON.stringify(text)} is not an address`;
  if (ip.family !== family) return `${text} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`;
  const bits = bitLength(family);
  if (slash < 0) return prefixNetwork(ip, bits);
  const p = text.slice(slash + 1);
  if (/^[0-9]{1,3}$/.test(p)) {
    const prefix = Number(p);
    if (prefix > bits) return `bad prefix length in ${text}`;
    return prefixNetwork(ip, prefix);
  }
  const mask = parseIP(p);
  // A dotted mask reads as IPv4, so it fits only an IPv4 address (and a colon mask only IPv6).
  if (!mask || mask.family !== family) return `bad mask in ${text}`;
  return { family, ip, mask: mask.bytes, prefix: maskPrefix(family, mask.bytes) };
}

/** Whether IP is in the network (the other family never is). */
export function networkContains(net: Network, ip: IP): boolean {
  if (ip.family !== net.family) return false;
  for (let k = net.family === 'ipv4' ? 12 : 0; k < 16; k++) {
    const m = net.mask[k]!;
    if ((ip.bytes[k]! & m) !== (net.ip.bytes[k]! & m)) return false;
  }
  return true;
}

/** Canonical text of a network: `ip/len` with host bits cleared, the address alone for a host, `ip/mask` when not contiguous. */
export function formatNetwork(net: Network): string {
  const bytes = new Uint8Array(16);
  for (let k = 0; k < 16; k++) bytes[k] = net.ip.bytes[k]! & net.mask[k]!;
  if (net.family === 'ipv4') V4_PREFIX.forEach((b, k) => (bytes[k] = b));
  const ip = formatIP({ family: net.family, bytes });
  if (net.prefix === bitLength(net.family)) return ip;
  if (net.prefix !== undefined) return `${ip}/${net.prefix}`;
  return `${ip}/${formatIP({ family: net.family, bytes: net.family === 'ipv4' ? v4Mapped(net.mask) : net.mask })}`;
}

function v4Mapped(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  V4_PREFIX.forEach((v, k) => (out[k] = v));
  out.set(b.subarray(12), 12);
  return out;
}

/** Orders two addresses of one family byte by byte. */
function compareIP(a: IP, b: IP): number {
  for (let k = 0; k < 16; k++) if (a.bytes[k] !== b.bytes[k]) return a.bytes[k]! - b.bytes[k]!;
  return 0;
}

/**
 * An address, CIDR or range as nft writes it (`10.0.0.1`, `10.0.0.0/8`, `10.0.0.1-10.0.0.9`) as a
 * predicate on addresses; undefined when the text is none of them.
 */
export function addressMatcher(text: string): ((ip: IP) => boolean) | undefined {
  if (text.includes('/')) {
    const c = parseCIDR(text);
    return c && ((ip) => cidrContains(c, ip));
  }
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const lo = parseIP(text.slice(0, dash));
    const hi = parseIP(text.slice(dash + 1));
    if (!lo || !hi || lo.family !== hi.family) return undefined;
    return (ip) => ip.family === lo.family && compareIP(ip, lo) >= 0 && compareIP(ip, hi) <= 0;
  }
  const want = parseIP(text);
  return want && ((ip) => ip.family === want.family && compareIP(ip, want) === 0);
}

/** The K-th address of a CIDR counting from its network address, or undefined past its end. */
export function nthAddress(c: CIDR, k: number): IP | undefined {
  const bytes = new Uint8Array(c.ip.bytes);
  let carry = k;
  for (let i = 15; i >= 0 && carry > 0; i--) {
    const v = bytes[i]! + carry;
    bytes[i] = v & 0xff;
    carry = Math.floor(v / 256);
  }
  const ip = { family: c.ip.family, bytes };
  return carry === 0 && cidrContains(c, ip) ? ip : undefined;
}
