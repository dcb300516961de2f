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

// The character codes of the name being built, reused: a large cluster hashes ~10^5 names, and
// one flat string made from them at the end is cheaper than a string grown piece by piece (and
// smaller than PREFIX + hash, which V8 keeps as a two-part string, then copies when hashed).
const codes: number[] = [];

/** PREFIX followed by base32 of DIGEST (one byte per character), up to `chars` characters. */
function base32OfDigest(prefix: string, digest: string, chars: number): string {
  codes.length = 0;
  for (let i = 0; i < prefix.length; i++) codes.push(prefix.charCodeAt(i));
  const end = prefix.length + chars;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < digest.length && codes.length < end; i++) {
    buffer = ((buffer << 8) | digest.charCodeAt(i)) & 0xffff;
    bits += 8;
    while (bits >= 5 && codes.length < end) {
      codes.push(CODES[(buffer >>> (bits - 5)) & 31]!);
      bits -= 5;
    }
  }
  if (bits > 0 && codes.length < end) codes.push(CODES[(buffer << (5 - bits)) & 31]!);
  return String.fromCharCode.apply(null, codes);
}

// crypto.hash (one-shot) is much cheaper than createHash for the ~10^5 short strings a large
// cluster hashes, and a string digest much cheaper again than a Buffer (an external allocation
// each, ~3x the time of the hash itself and work for the garbage collector). 'binary' (latin1)
// is one character per byte: half the length of hex, and nothing to decode. Fall back where a
// Node build lacks crypto.hash.
const sha256Digest: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(a: string, d: string, e: 'binary'): string }).hash('sha256', text, 'binary')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('binary');

/** First `length` base32 characters of SHA-256(text): kube-proxy's chain-name hash. */
export function hashPrefix(text: string, length: number): string {
  return base32OfDigest('', sha256Digest(text), length);
}

/** PREFIX + hashPrefix(TEXT, LENGTH) as one flat string: a chain name that is kept (and sorted). */
export function hashedName(prefix: string, text: string, length: number): string {
  return base32OfDigest(prefix, sha256Digest(text), length);
}

/** hashedName for each of PREFIXES, hashing TEXT once. */
export function hashedNames(prefixes: readonly string[], text: string, length: number): string[] {
  const digest = sha256Digest(text);
  return prefixes.map((prefix) => base32OfDigest(prefix, digest, length));
}
