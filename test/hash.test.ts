import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base32, hashPrefix } from '../src/util/hash.js';

describe("kube-proxy's chain-name hash", () => {
  it('matches chain names in kube-proxy test data', () => {
    expect(hashPrefix('ns1/svc1:p80tcp', 16)).toBe('XPGD46QRK7WJZT7O');
    expect(hashPrefix('ns2/svc2:p80tcp', 16)).toBe('GNZBNJ2PO5MGZ6GT');
    expect(hashPrefix('ns1/svc1:p80tcp10.180.0.1:80', 16)).toBe('SXIVWICOYRO3J4NJ');
    expect(hashPrefix('ns4/svc4:p80tcp10.180.0.5:80', 16)).toBe('C6EBXVWJJZMIWKLZ');
  });
  it('is the base32 of the SHA-256 bytes, at any length', () => {
    for (const text of ['', 'a', 'ns1/svc1:p80tcp', 'ü/x', 'x'.repeat(200)]) {
      const bytes = createHash('sha256').update(text, 'utf8').digest();
      for (const n of [1, 7, 8, 16, 51, 52]) expect(hashPrefix(text, n)).toBe(base32(bytes, n));
    }
  });
  it('is standard base32', () => {
    expect(base32(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32(Buffer.from('f'))).toBe('MY');
  });
});
