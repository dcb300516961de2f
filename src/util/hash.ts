import crypto from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const CODES = Array.from(BASE32, (c) => c.charCodeAt(0));

/** RFC 4648 base32 (standard alphabet) of the first bytes, without padding, up to `chars` characters. */
export function base32(bytes: Uint8Array, chars = Math.ceil((bytes.length * 8) / 5)): string {
  // Character codes first, one string at the end: a cluster hashes ~10^5 names, and growing a
  // string one character at a time allocates every intermediate.
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length && out.length < chars; i++) {
    buffer = ((buffer << 8) | bytes[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out.push(CODES[(buffer >>> (bits - 5)) & 31]!);
      bits -= 5;
    }
  }
  if (bits > 0 && out.length < chars) out.push(CODES[(buffer << (5 - bits)) & 31]!);
  return String.fromCharCode(...out);
}

/** The value of one hex digit's character code (0-9, a-f). */
function hexValue(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

// The character codes of the name being built, reused: a large cluster hashes ~10^5 names, and
// one flat string made from them at the end is cheaper than a string grown piece by piece (and
// smaller than PREFIX + hash, which V8 keeps as a two-part string, then copies when hashed).
const codes: number[] = [];

/** PREFIX followed by base32 of the bytes that HEX (lower-case hex digits) spells, up to `chars` characters. */
function base32OfHex(prefix: string, hex: string, chars: number): string {
  codes.length = 0;
  for (let i = 0; i < prefix.length; i++) codes.push(prefix.charCodeAt(i));
  const end = prefix.length + chars;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < hex.length && codes.length < end; i++) {
    buffer = ((buffer << 4) | hexValue(hex.charCodeAt(i))) & 0xffff;
    bits += 4;
    if (bits >= 5) {
      codes.push(CODES[(buffer >>> (bits - 5)) & 31]!);
      bits -= 5;
    }
  }
  if (bits > 0 && codes.length < end) codes.push(CODES[(buffer << (5 - bits)) & 31]!);
  return String.fromCharCode.apply(null, codes);
}

// crypto.hash (one-shot) is much cheaper than createHash for the ~10^5 short strings a large
// cluster hashes, and its hex string much cheaper again than a Buffer (an external allocation
// each, ~3x the time of the hash itself and work for the garbage collector); fall back where a
// Node build lacks it.
const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(a: string, d: string, e: 'hex'): string }).hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** First `length` base32 characters of SHA-256(text): kube-proxy's chain-name hash. */
export function hashPrefix(text: string, length: number): string {
  return base32OfHex('', sha256Hex(text), length);
}

/** PREFIX + hashPrefix(TEXT, LENGTH) as one flat string: a chain name that is kept (and hashed as a key). */
export function hashedName(prefix: string, text: string, length: number): string {
  return base32OfHex(prefix, sha256Hex(text), length);
}

/** hashedName for each of PREFIXES, hashing TEXT once. */
export function hashedNames(prefixes: readonly string[], text: string, length: number): string[] {
  const hex = sha256Hex(text);
  return prefixes.map((prefix) => base32OfHex(prefix, hex, length));
}
