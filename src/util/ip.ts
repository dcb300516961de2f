// IP and CIDR handling with kube-proxy's reading rules.
//
// kube-proxy parses addresses with k8s.io/utils/net's "sloppy" parser (a fork of Go 1.16's
// net.ParseIP): IPv4 octets may carry leading zeros and are read as DECIMAL (010 is ten, never
// eight), and an IPv4-mapped IPv6 address (::ffff:1.2.3.4) is an IPv4 address. Output is always
// Go's canonical text: dotted quad, or RFC 5952 compressed lowercase IPv6.

export type IPFamily = 'ipv4' | 'ipv6';

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

/** Dotted decimal, four octets, each read by dtoi (010 is ten, 0000172 is 172). */
function parseIPv4Into(s: string, out: Uint8Array, at: number): boolean {
  let pos = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= s.length) return false;
    if (i > 0) {
      if (s[pos] !== '.') return false;
      pos++;
    }
    const d = dtoi(s, pos);
    if (!d || d[0] > 0xff) return false;
    out[at + i] = d[0];
    pos += d[1];
  }
  return pos === s.length;
}

/** Parses an IP address the way kube-proxy does; returns undefined when it is not one. */
export function parseIP(text: string): IP | undefined {
  // Go looks at the first '.' or ':' to pick the family.
  const m = /[.:]/.exec(text);
  if (!m) return undefined;
  const bytes = new Uint8Array(16);
  if (m[0] === '.') {
    V4_PREFIX.forEach((b, i) => (bytes[i] = b));
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
  const ip = parseIP(text);
  return ip ? formatIP(ip) : undefined;
}

export function familyOf(text: string): IPFamily | undefined {
  return parseIP(text)?.family;
}

function bitLength(family: IPFamily): number {
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
