import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressMatcher,
  canonicalCIDR,
  canonicalIP,
  cidrContains,
  familyOf,
  formatIP,
  formatNetwork,
  maskPrefix,
  networkContains,
  nthAddress,
  parseCIDR,
  parseIP,
  parseNetwork,
  type Family,
  type IP,
  type Network,
} from '../src/util/ip.js';

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

/** The network or the reason it is none; fails the test on a reason. */
function net(text: string, family: Family = 'ipv4'): Network {
  const n = parseNetwork(text, family);
  if (typeof n === 'string') throw new Error(n);
  return n;
}
const ip = (text: string): IP => parseIP(text)!;
const v4 = (n: number) => `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
const maskOf = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

describe('address matches as iptables-save prints them', () => {
  it('reads an address, a prefix length and a dotted mask', () => {
    expect(net('10.1.2.3').prefix).toBe(32);
    expect(net('10.0.0.0/8').prefix).toBe(8);
    expect(net('10.0.0.0/255.0.0.0').prefix).toBe(8);
    expect(net('10.0.0.0/0.0.0.0').prefix).toBe(0);
    expect(net('2001:db8::/32', 'ipv6').prefix).toBe(32);
    expect(net('2001:db8::/ffff:ffff::', 'ipv6').prefix).toBe(32);
  });
  it('matches with a non-contiguous mask, as the kernel compares (ip & mask) == (net & mask)', () => {
    const n = net('10.0.0.5/255.0.0.255');
    expect(n.prefix).toBeUndefined();
    expect(networkContains(n, ip('10.200.7.5'))).toBe(true);
    expect(networkContains(n, ip('10.200.7.6'))).toBe(false);
    expect(networkContains(n, ip('11.0.0.5'))).toBe(false);
    expect(formatNetwork(n)).toBe('10.0.0.5/255.0.0.255');
    const n6 = net('2001:db8::1/ffff::ffff', 'ipv6');
    expect(networkContains(n6, ip('2001:1:2::1'))).toBe(true);
    expect(networkContains(n6, ip('2001:1:2::2'))).toBe(false);
  });
  it('keeps host bits as written and matches on the masked part', () => {
    const n = net('10.1.2.3/8');
    expect(networkContains(n, ip('10.9.9.9'))).toBe(true);
    expect(formatNetwork(n)).toBe('10.0.0.0/8');
    expect(formatNetwork(net('10.1.2.3/32'))).toBe('10.1.2.3');
  });
  it('says why a text is no address match', () => {
    expect(parseNetwork('10.0.0.0/33', 'ipv4')).toBe('bad prefix length in 10.0.0.0/33');
    expect(parseNetwork('10.0.0.0/ffff::', 'ipv4')).toBe('bad mask in 10.0.0.0/ffff::');
    expect(parseNetwork('2001:db8::/255.0.0.0', 'ipv6')).toBe('bad mask in 2001:db8::/255.0.0.0');
    expect(parseNetwork('2001:db8::1', 'ipv4')).toBe('2001:db8::1 is not an IPv4 address');
    expect(parseNetwork('x', 'ipv4')).toBe('"x" is not an address');
  });
  it('never matches the other family', () => {
    expect(networkContains(net('0.0.0.0/0'), ip('::1'))).toBe(false);
    expect(networkContains(net('::/0', 'ipv6'), ip('1.2.3.4'))).toBe(false);
  });
  it('a contiguous dotted mask matches exactly like its prefix length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32 }), fc.nat(0xffffffff), fc.nat(0xffffffff), (len, a, b) => {
        const dotted = net(`${v4(a)}/${v4(maskOf(len))}`);
        const prefixed = net(`${v4(a)}/${len}`);
        expect(dotted.prefix).toBe(len);
        expect(formatNetwork(dotted)).toBe(formatNetwork(prefixed));
        const probe = ip(v4(b));
        expect(networkContains(dotted, probe)).toBe(networkContains(prefixed, probe));
        // and like the CIDR reader kube-proxy's values go through
        expect(networkContains(prefixed, probe)).toBe(cidrContains(parseCIDR(`${v4(a)}/${len}`)!, probe));
      }),
    );
  });
  it('any mask: an address matches iff it agrees with the network on every mask bit', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), (a, m, b) => {
        const n = net(`${v4(a)}/${v4(m)}`);
        expect(networkContains(n, ip(v4(b)))).toBe(((a ^ b) & m) >>> 0 === 0);
        // the printed form reads back as the same network
        const again = net(formatNetwork(n));
        expect(formatNetwork(again)).toBe(formatNetwork(n));
        expect(networkContains(again, ip(v4(b)))).toBe(networkContains(n, ip(v4(b))));
      }),
    );
  });
  it('mask prefix: contiguous masks give their length, others none', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32 }), (len) => {
        expect(maskPrefix('ipv4', ip(v4(maskOf(len))).bytes)).toBe(len);
      }),
    );
    expect(maskPrefix('ipv4', ip('255.0.255.0').bytes)).toBeUndefined();
  });
  it('parse and format round trip: every IPv4 CIDR reads back to itself', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 }), (a, len) => {
        const text = canonicalCIDR(`${v4(a)}/${len}`)!;
        expect(canonicalCIDR(text)).toBe(text);
        expect(formatNetwork(net(text))).toBe(len === 32 ? text.slice(0, -3) : text);
      }),
    );
  });
});

describe('nft address, CIDR and range matchers', () => {
  it('reads an address, a CIDR and a range', () => {
    expect(addressMatcher('10.0.0.1')!(ip('10.0.0.1'))).toBe(true);
    expect(addressMatcher('10.0.0.1')!(ip('10.0.0.2'))).toBe(false);
    expect(addressMatcher('10.0.0.0/8')!(ip('10.255.0.1'))).toBe(true);
    const range = addressMatcher('172.16.0.1-172.16.0.9')!;
    expect(['172.16.0.0', '172.16.0.1', '172.16.0.9', '172.16.0.10'].map((a) => range(ip(a)))).toEqual([false, true, true, false]);
    expect(addressMatcher('fd00::1-fd00::ff')!(ip('fd00::10'))).toBe(true);
    expect(addressMatcher('10.0.0.1-fd00::1')).toBeUndefined();
    expect(addressMatcher('nope')).toBeUndefined();
  });
  it('a range from lo to hi holds exactly the addresses between them', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), (x, y, b) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        expect(addressMatcher(`${v4(lo)}-${v4(hi)}`)!(ip(v4(b)))).toBe(b >= lo && b <= hi);
      }),
    );
  });
});

describe('the k-th address of a CIDR', () => {
  it('counts from the network address and stops at its end', () => {
    const c = parseCIDR('10.244.0.0/30')!;
    expect([0, 1, 3, 4].map((k) => nthAddress(c, k) && formatIP(nthAddress(c, k)!))).toEqual([
      '10.244.0.0',
      '10.244.0.1',
      '10.244.0.3',
      undefined,
    ]);
    expect(formatIP(nthAddress(parseCIDR('fd00:10:244::/64')!, 258)!)).toBe('fd00:10:244::102');
  });
});
