// The input checks' shortcut for dotted quads (src/input/ip-family.ts) says what parseIP says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipFamily } from '../src/input/ip-family.js';
import { parseIP } from '../src/util/ip.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 5000);

describe('ipFamily', () => {
  it('agrees with parseIP on address-like text', () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', ':', 'a', ' ', '-'), maxLength: 18 }),
      fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((o) => o.join('.')),
      fc.ipV4(),
      fc.ipV4Extended(),
      fc.ipV6(),
      fc.string(),
    );
    fc.assert(
      fc.property(text, (s) => {
        expect(ipFamily(s)).toBe(parseIP(s)?.family);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    '10.0.0.1',
    '255.255.255.255',
    '0.0.0.0',
    '010.0.0.1',
    '1.2.3',
    '1.2.3.4.',
    '256.1.1.1',
    '1..2.3',
    '::ffff:1.2.3.4',
    'fd00::1',
    '',
  ])('%j', (s) => {
    expect(ipFamily(s)).toBe(parseIP(s)?.family);
  });
});
