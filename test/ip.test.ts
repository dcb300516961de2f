import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalCIDR, canonicalIP, cidrContains, familyOf, parseCIDR, parseIP } from '../src/util/ip.js';

describe('IP parsing as kube-proxy reads it', () => {
  it('reads IPv4 octets with leading zeros as decimal, never octal', () => {
    expect(canonicalIP('010.180.00.001')).toBe('10.180.0.1');
    expect(canonicalIP('192.168.000.010')).toBe('192.168.0.10');
  });
  it('rejects what is not an address', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '1..2.3',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7:8:9',
      ':::',
      '12345::',
      '1.2.3.4/32',
      'a"b',
    ]) {
      expect(parseIP(bad), bad).toBeUndefined();
    }
  });
  it('prints IPv6 in RFC 5952 form, as Go does', () => {
    expect(canonicalIP('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIP('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(canonicalIP('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1'); // longest run wins
    expect(canonicalIP('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // a single zero group stays
    expect(canonicalIP('::')).toBe('::');
    expect(canonicalIP('::1')).toBe('::1');
    expect(canonicalIP('fd00:10:180::1')).toBe('fd00:10:180::1');
  });
  it('treats IPv4-mapped IPv6 as IPv4', () => {
    expect(familyOf('::ffff:10.1.2.3')).toBe('ipv4');
    expect(canonicalIP('::ffff:10.1.2.3')).toBe('10.1.2.3');
  });
  it('normalises CIDRs to their network', () => {
    expect(canonicalCIDR('203.0.113.5/25')).toBe('203.0.113.0/25');
    expect(canonicalCIDR('2001:db8::1/64')).toBe('2001:db8::/64');
    expect(canonicalCIDR('10.0.0.0/33')).toBeUndefined();
    expect(canonicalCIDR('10.0.0.0/-1')).toBeUndefined();
  });
  it('tests containment within a family only', () => {
    const c = parseCIDR('192.168.0.0/24')!;
    expect(cidrContains(c, parseIP('192.168.0.2')!)).toBe(true);
    expect(cidrContains(c, parseIP('192.168.1.2')!)).toBe(false);
    expect(cidrContains(parseCIDR('::/0')!, parseIP('10.0.0.1')!)).toBe(false);
  });
  it('round-trips every IPv4 address', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(canonicalIP(ip)).toBe(ip);
      }),
    );
  });
  it('round-trips every IPv6 address through its canonical form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const once = canonicalIP(ip);
        expect(once).toBeDefined();
        expect(canonicalIP(once!)).toBe(once);
        expect(parseIP(once!)!.bytes).toEqual(parseIP(ip)!.bytes);
      }),
    );
  });
});

// Go 1.16's parseIPTests (the parser kube-proxy's sloppy reader keeps), plus its dtoi/xtoi
// edges: digits run on while the value stays below 0xFFFFFF, so leading zeros never run out.
describe('Go 1.16 ParseIP test vectors (dtoi / xtoi)', () => {
  const V4 = (a: number, b: number, c: number, d: number) => `${a}.${b}.${c}.${d}`;
  const cases: [string, string | undefined][] = [
    ['127.0.1.2', V4(127, 0, 1, 2)],
    ['127.0.0.1', V4(127, 0, 0, 1)],
    ['127.001.002.003', V4(127, 1, 2, 3)],
    ['::ffff:127.1.2.3', V4(127, 1, 2, 3)],
    ['::ffff:127.001.002.003', V4(127, 1, 2, 3)],
    ['::ffff:7f01:0203', V4(127, 1, 2, 3)],
    ['0:0:0:0:0000:ffff:127.1.2.3', V4(127, 1, 2, 3)],
    ['0:0:0:0:000000:ffff:127.1.2.3', V4(127, 1, 2, 3)],
    ['0:0:0:0::ffff:127.1.2.3', V4(127, 1, 2, 3)],
    ['2001:4860:0:2001::68', '2001:4860:0:2001::68'],
    ['2001:4860:0000:2001:0000:0000:0000:0068', '2001:4860:0:2001::68'],
    ['-0.0.0.0', undefined],
    ['0.-1.0.0', undefined],
    ['0.0.-2.0', undefined],
    ['0.0.0.-3', undefined],
    ['127.0.0.256', undefined],
    ['abc', undefined],
    ['123:', undefined],
    ['fe80::1%lo0', undefined],
    ['fe80::1%911', undefined],
    ['', undefined],
    ['a1:a2:a3:a4::b1:b2:b3:b4', undefined],
    // The addresses issue 12 found refused: more than three digits in an octet.
    ['0172.30.0.20', V4(172, 30, 0, 20)],
    ['10.0180.00.17', V4(10, 180, 0, 17)],
    [`${'0'.repeat(40)}1.2.3.4`, V4(1, 2, 3, 4)],
    ['0256.1.1.1', undefined],
    ['16777215.1.1.1', undefined], // dtoi gives up at 0xFFFFFF
    ['::00000000000001', '::1'],
    ['::1000000', undefined], // 0x1000000 > 0xFFFFFF: xtoi gives up
    ['::10000', undefined], // > 0xFFFF
  ];
  for (const [text, want] of cases) {
    it(JSON.stringify(text), () => expect(canonicalIP(text)).toBe(want));
  }
  it('CIDR prefixes are read with dtoi too', () => {
    expect(canonicalCIDR('10.0.0.0/008')).toBe('10.0.0.0/8');
    expect(canonicalCIDR('0010.0.0.0/0024')).toBe('10.0.0.0/24');
    expect(canonicalCIDR('10.0.0.0/8 ')).toBeUndefined();
    expect(canonicalCIDR('10.0.0.0/')).toBeUndefined();
  });
});
