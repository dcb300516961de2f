// The tracer's pieces one at a time, on small hand-written rule sets: every match and target it
// understands, the hook order, the fan-out of random matches, the chain index, and the
// conditional answers for what it cannot judge.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseIptables } from '../src/parse/iptables.js';
import { emitIptables } from '../src/emit/iptables.js';
import { IptablesTracer, kernelProbability, parseDnatTarget, type IptablesTraceOptions } from '../src/trace/iptables.js';
import type { TracePacket } from '../src/trace/packet.js';
import { UsageError } from '../src/errors.js';
import { kubeProxyCases } from './helpers/cases.js';
import { compileDir } from './trace-support.js';

const NODE = ['192.168.0.2', '192.168.1.2'];

function tracer(text: string, opts: IptablesTraceOptions & { family?: 'ipv4' | 'ipv6'; node?: string[] } = {}): IptablesTracer {
  const family = opts.family ?? 'ipv4';
  return new IptablesTracer(
    parseIptables(text, family),
    { family, addresses: opts.node ?? NODE },
    { kubeProxyJumps: opts.kubeProxyJumps ?? 'auto' },
  );
}

const pkt = (src: string, dst: string, dport = 80, extra: Partial<TracePacket> = {}): TracePacket => ({
  src,
  dst,
  dport,
  protocol: 'tcp',
  ...extra,
});

const FILTER_HEAD = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n';

/** Whether a packet is dropped by `-A <chain> MATCHES -j DROP` in every filter built-in chain. */
function dropped(matches: string, p: TracePacket, node = NODE, family: 'ipv4' | 'ipv6' = 'ipv4'): boolean {
  const rules = ['INPUT', 'FORWARD', 'OUTPUT'].map((c) => `-A ${c} ${matches} -j DROP`).join('\n');
  return tracer(`${FILTER_HEAD}${rules}\nCOMMIT\n`, { node, family }).trace(p).verdict === 'DROP';
}

describe('trace: addresses, protocols, ports', () => {
  it('non-contiguous dotted masks match as the kernel masks them, IPv6 masks too', () => {
    expect(dropped('-s 10.0.0.7/255.0.0.255', pkt('10.99.1.7', '1.1.1.1'))).toBe(true);
    expect(dropped('-s 10.0.0.7/255.0.0.255', pkt('10.99.1.8', '1.1.1.1'))).toBe(false);
    const n6 = ['2001:db8::9'];
    expect(dropped('-s 2001:db8::/ffff:ffff::', pkt('2001:db8:1::1', '2001:db8::9'), n6, 'ipv6')).toBe(true);
    expect(dropped('-s 2001:db8::/ffff:ffff::', pkt('2001:db9::1', '2001:db8::9'), n6, 'ipv6')).toBe(false);
  });
  it('-s / -d with and without /32, CIDRs, dotted masks, negation and lists', () => {
    expect(dropped('-d 10.1.2.3', pkt('10.0.0.1', '10.1.2.3'))).toBe(true);
    expect(dropped('-d 10.1.2.3/32', pkt('10.0.0.1', '10.1.2.3'))).toBe(true);
    expect(dropped('-d 10.1.2.3/32', pkt('10.0.0.1', '10.1.2.4'))).toBe(false);
    expect(dropped('-s 10.0.0.0/8', pkt('10.200.0.1', '1.1.1.1'))).toBe(true);
    expect(dropped('-s 10.0.0.0/255.0.0.0', pkt('10.200.0.1', '1.1.1.1'))).toBe(true);
    expect(dropped('! -s 10.0.0.0/8', pkt('10.200.0.1', '1.1.1.1'))).toBe(false);
    expect(dropped('! -s 10.0.0.0/8', pkt('11.0.0.1', '1.1.1.1'))).toBe(true);
    expect(dropped('-s 203.0.113.0/25', pkt('203.0.113.130', '1.1.1.1'))).toBe(false);
    expect(dropped('-d 1.1.1.1,2.2.2.2', pkt('10.0.0.1', '2.2.2.2'))).toBe(true);
  });

  it('IPv6 addresses and prefixes', () => {
    const node = ['2001:db8::1'];
    expect(dropped('-s fd00:10::/64', pkt('fd00:10::2', '2001:db8:ffff::1'), node, 'ipv6')).toBe(true);
    expect(dropped('-s fd00:10::/64', pkt('fd00:10:1::2', '2001:db8:ffff::1'), node, 'ipv6')).toBe(false);
    expect(dropped('-d fd00:172:30::41/128', pkt('fd00:10::2', 'fd00:172:30:0::41'), node, 'ipv6')).toBe(true);
  });

  it('-p, -m tcp/udp/sctp and --dport (single, range, negated)', () => {
    const udp = (p: TracePacket) => ({ ...p, protocol: 'udp' as const });
    expect(dropped('-p tcp -m tcp --dport 80', pkt('10.0.0.1', '1.1.1.1', 80))).toBe(true);
    expect(dropped('-p tcp -m tcp --dport 80', udp(pkt('10.0.0.1', '1.1.1.1', 80)))).toBe(false);
    expect(dropped('-p udp -m udp --dport 53', udp(pkt('10.0.0.1', '1.1.1.1', 53)))).toBe(true);
    expect(dropped('-p sctp -m sctp --dport 80', { ...pkt('10.0.0.1', '1.1.1.1', 80), protocol: 'sctp' })).toBe(true);
    expect(dropped('! -p tcp', pkt('10.0.0.1', '1.1.1.1'))).toBe(false);
    expect(dropped('-p all', pkt('10.0.0.1', '1.1.1.1'))).toBe(true);
    expect(dropped('-p 6', pkt('10.0.0.1', '1.1.1.1'))).toBe(true);
    expect(dropped('-p tcp -m tcp --dport 30000:32767', pkt('10.0.0.1', '1.1.1.1', 30500))).toBe(true);
    expect(dropped('-p tcp -m tcp --dport 30000:32767', pkt('10.0.0.1', '1.1.1.1', 80))).toBe(false);
    expect(dropped('-p tcp -m tcp ! --dport 80', pkt('10.0.0.1', '1.1.1.1', 80))).toBe(false);
  });

  it('--sport needs the packet to say its source port: without it the answer is conditional', () => {
    expect(dropped('-p tcp -m tcp --sport 1000:2000', pkt('10.0.0.1', '1.1.1.1', 80, { sport: 1500 }))).toBe(true);
    const r = tracer(`${FILTER_HEAD}-A FORWARD -p tcp -m tcp --sport 1000:2000 -j DROP\nCOMMIT\n`).trace(pkt('10.0.0.1', '1.1.1.1'));
    expect(r.verdict).toBe('');
    expect(r.conditions).toEqual([expect.stringMatching(/^filter FORWARD #1 \(line 5\) could match: .*give --sport/)]);
    // A rule whose other matches fail needs no source port.
    expect(
      tracer(`${FILTER_HEAD}-A FORWARD -p udp -m udp --sport 1000:2000 -j DROP\nCOMMIT\n`).trace(pkt('10.0.0.1', '1.1.1.1')).conditions,
    ).toBeUndefined();
  });
});

describe('trace: addrtype, mark, conntrack, comment, nfacct', () => {
  it('-m addrtype LOCAL: node addresses and all of loopback', () => {
    expect(dropped('-m addrtype --dst-type LOCAL', pkt('10.0.0.1', '192.168.1.2'))).toBe(true);
    expect(dropped('-m addrtype --dst-type LOCAL', pkt('10.0.0.1', '192.168.1.3'))).toBe(false);
    expect(dropped('-m addrtype ! --dst-type LOCAL', pkt('10.0.0.1', '192.168.1.3'))).toBe(true);
    expect(dropped('-m addrtype --src-type LOCAL', pkt('127.0.0.5', '1.1.1.1'))).toBe(true);
    expect(dropped('-m addrtype --src-type LOCAL', pkt('::1', '2001:db8:ffff::1'), ['2001:db8::1'], 'ipv6')).toBe(true);
    const r = tracer(`${FILTER_HEAD}-A FORWARD -m addrtype --dst-type UNICAST -j DROP\nCOMMIT\n`).trace(pkt('10.0.0.1', '1.1.1.1'));
    expect(r.verdict).toBe('');
    expect(r.conditions?.[0]).toMatch(/could match: ktables cannot judge address type UNICAST/);
  });

  it('MARK targets (as kube-proxy writes them and as iptables-save prints them) and -m mark', () => {
    const rs = (ops: string[], test: string) =>
      `*mangle\n:PREROUTING ACCEPT [0:0]\n${ops.map((o) => `-A PREROUTING -j MARK ${o}`).join('\n')}\nCOMMIT\n${FILTER_HEAD}-A FORWARD -m mark ${test} -j DROP\nCOMMIT\n`;
    const verdict = (ops: string[], test: string) => tracer(rs(ops, test)).trace(pkt('10.0.0.1', '1.1.1.1')).verdict;
    expect(verdict(['--or-mark 0x4000'], '--mark 0x4000/0x4000')).toBe('DROP');
    expect(verdict(['--set-xmark 0x4000/0x4000'], '--mark 0x4000/0x4000')).toBe('DROP');
    expect(verdict(['--or-mark 0x4000', '--xor-mark 0x4000'], '--mark 0x4000/0x4000')).toBe('');
    expect(verdict(['--or-mark 0x4000', '--set-xmark 0x4000/0x0'], '--mark 0x4000/0x4000')).toBe('');
    expect(verdict(['--or-mark 0x4000'], '! --mark 0x4000/0x4000')).toBe('');
    expect(verdict(['--set-mark 0x10', '--or-mark 0x4000'], '--mark 0x4010')).toBe('DROP');
    expect(verdict(['--set-mark 0xff', '--and-mark 0x0f'], '--mark 15')).toBe('DROP');
    expect(verdict(['--set-mark 0x00004000/0x00004000'], '--mark 0x00004000/0x00004000')).toBe('DROP');
  });

  it('conntrack: the packet is NEW; DNAT once NATed; INVALID in raw (no conntrack yet)', () => {
    expect(dropped('-m conntrack --ctstate NEW', pkt('10.0.0.1', '1.1.1.1'))).toBe(true);
    expect(dropped('-m conntrack --ctstate RELATED,ESTABLISHED', pkt('10.0.0.1', '1.1.1.1'))).toBe(false);
    expect(dropped('-m conntrack --ctstate INVALID', pkt('10.0.0.1', '1.1.1.1'))).toBe(false);
    // kube-proxy's KUBE-FIREWALL: 127/8 from outside that was not DNATed is dropped.
    const fw = `*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 127.0.0.1/32 -p tcp -m tcp --dport 3001 -j DNAT --to-destination 127.0.0.2:80\nCOMMIT\n${FILTER_HEAD}-A INPUT ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\nCOMMIT\n`;
    expect(tracer(fw).trace(pkt('10.0.0.1', '127.0.0.1', 22)).verdict).toBe('DROP');
    expect(tracer(fw).trace(pkt('10.0.0.1', '127.0.0.1', 3001)).verdict).toBe('127.0.0.2:80');
    const raw = '*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n';
    expect(tracer(raw).trace(pkt('10.0.0.1', '1.1.1.1')).verdict).toBe('DROP');
  });

  it('comments and nfacct counters always match', () => {
    expect(dropped('-m comment --comment "a b" -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts', pkt('10.0.0.1', '1.1.1.1'))).toBe(
      true,
    );
  });
});

describe('trace: interfaces', () => {
  it('-i with a name or a prefix; a packet from outside that does not say is taken to arrive on eth0', () => {
    expect(dropped('-i cbr0', pkt('10.0.0.1', '1.1.1.1', 80, { inInterface: 'cbr0' }))).toBe(true);
    expect(dropped('-i cbr0', pkt('10.0.0.1', '1.1.1.1', 80, { inInterface: 'eth0' }))).toBe(false);
    expect(dropped('-i veth+', pkt('10.0.0.1', '1.1.1.1', 80, { inInterface: 'veth12ab' }))).toBe(true);
    expect(dropped('! -i veth+', pkt('10.0.0.1', '1.1.1.1', 80, { inInterface: 'veth12ab' }))).toBe(false);
    const t = tracer(`${FILTER_HEAD}-A FORWARD -i cbr0 -j DROP\n-A FORWARD -i eth+ -j REJECT\nCOMMIT\n`);
    const r = t.trace(pkt('10.0.0.1', '1.1.1.1'));
    expect(r.verdict).toBe('REJECT');
    // Every assumption at once, each naming its rule.
    expect(r.notes).toEqual([
      'filter FORWARD #1 (line 5) matches the input interface: assumed eth0 (give --in-interface)',
      'filter FORWARD #2 (line 6) matches the input interface: assumed eth0 (give --in-interface)',
    ]);
    // A rule whose other matches already fail asks nothing.
    expect(
      tracer(`${FILTER_HEAD}-A FORWARD -o virbr0 -p udp -m udp --dport 68 -j DROP\nCOMMIT\n`).trace(pkt('10.0.0.1', '1.1.1.1')).notes,
    ).toEqual([]);
  });

  it('from the node there is no input interface; to a node address the output is lo', () => {
    const out = `${FILTER_HEAD}-A OUTPUT ! -i cbr0 -j MARK --set-mark 1\n-A OUTPUT -o lo -m mark --mark 1 -j REJECT\nCOMMIT\n`;
    expect(tracer(out).trace(pkt('192.168.0.2', '192.168.1.2')).verdict).toBe('REJECT');
    expect(tracer(out).trace(pkt('192.168.0.2', '1.1.1.1')).notes).toEqual([
      'filter OUTPUT #2 (line 6) matches the output interface: assumed eth0 (give --out-interface)',
    ]);
    expect(tracer(out).trace(pkt('192.168.0.2', '1.1.1.1', 80, { outInterface: 'eth0' })).verdict).toBe('');
  });
});

describe('trace: hooks and routing', () => {
  const text = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j MARK --or-mark 0x1
-A INPUT -j MARK --or-mark 0x2
-A OUTPUT -j MARK --or-mark 0x4
-A POSTROUTING -j MARK --or-mark 0x8
COMMIT
${FILTER_HEAD}-A INPUT -j MARK --or-mark 0x10
-A FORWARD -j MARK --or-mark 0x20
-A OUTPUT -j MARK --or-mark 0x40
COMMIT
`;
  const marks = (p: TracePacket) => {
    const r = tracer(text).trace(p);
    return { entry: r.entry, mark: r.branches[0]!.mark, delivery: r.branches[0]!.delivery, hooks: [...new Set(r.path.map((s) => s.hook))] };
  };
  it('from outside to the node: PREROUTING, INPUT (filter, then nat)', () => {
    expect(marks(pkt('10.0.0.1', '192.168.0.2'))).toEqual({
      entry: 'PREROUTING',
      mark: '0x13',
      delivery: 'local',
      hooks: ['PREROUTING', 'routing', 'INPUT'],
    });
  });
  it('through the node: PREROUTING, FORWARD, POSTROUTING', () => {
    expect(marks(pkt('10.0.0.1', '10.1.0.1'))).toEqual({
      entry: 'PREROUTING',
      mark: '0x29',
      delivery: 'forward',
      hooks: ['PREROUTING', 'routing', 'FORWARD', 'POSTROUTING'],
    });
  });
  it('from the node out: OUTPUT (nat, then filter), POSTROUTING', () => {
    expect(marks(pkt('192.168.0.2', '10.1.0.1'))).toEqual({
      entry: 'OUTPUT',
      mark: '0x4c',
      delivery: 'out',
      hooks: ['OUTPUT', 'routing', 'POSTROUTING'],
    });
  });
  it('from the node to itself: OUTPUT, POSTROUTING, then INPUT over lo without nat INPUT', () => {
    expect(marks(pkt('127.0.0.1', '127.0.0.1'))).toEqual({
      entry: 'OUTPUT',
      mark: '0x5c',
      delivery: 'local',
      hooks: ['OUTPUT', 'routing', 'POSTROUTING', 'INPUT'],
    });
  });
  it('routing follows the DNAT destination', () => {
    const t = tracer(
      `*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.168.1.2\nCOMMIT\n`,
    );
    const r = t.trace(pkt('10.0.0.1', '10.96.0.1'));
    expect(r.verdict).toBe('192.168.1.2');
    expect(r.branches[0]!.delivery).toBe('local');
  });
});

describe('trace: targets', () => {
  it('jump returns, goto returns to the caller of the caller, RETURN in a built-in chain is the policy', () => {
    const t = tracer(`${FILTER_HEAD}:A - [0:0]
:B - [0:0]
-A FORWARD -j A
-A FORWARD -j MARK --or-mark 0x100
-A A -g B
-A A -j MARK --or-mark 0x1
-A B -j MARK --or-mark 0x2
-A B -j RETURN
-A B -j MARK --or-mark 0x4
-A INPUT -j RETURN
-A INPUT -j DROP
COMMIT
`);
    expect(t.trace(pkt('10.0.0.1', '10.1.0.1')).branches[0]!.mark).toBe('0x102');
    expect(t.trace(pkt('10.0.0.1', '192.168.0.2')).verdict).toBe('');
  });

  it('policies: DROP decides, ACCEPT does not', () => {
    const t = tracer('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
    const r = t.trace(pkt('10.0.0.1', '10.1.0.1'));
    expect(r.verdict).toBe('DROP');
    expect(r.path.at(-1)).toMatchObject({ kind: 'policy', text: 'policy DROP of filter FORWARD' });
    expect(t.trace(pkt('10.0.0.1', '192.168.0.2')).verdict).toBe('');
  });

  it('ACCEPT in filter is a verdict; ACCEPT in nat only ends the nat table', () => {
    expect(
      tracer(`${FILTER_HEAD}-A INPUT -p tcp -m tcp --dport 30000 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n`).trace(
        pkt('1.2.3.4', '192.168.0.2', 30000),
      ).verdict,
    ).toBe('ACCEPT');
    const nat = `*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\n-A PREROUTING -j DNAT --to-destination 10.1.0.1:80\nCOMMIT\n`;
    expect(tracer(nat).trace(pkt('1.2.3.4', '10.96.0.1')).verdict).toBe('');
  });

  it('DNAT: port kept when absent, IPv6 bracketed and canonical, ranges refused', () => {
    expect(parseDnatTarget('10.1.0.1', 'ipv4')).toMatchObject({ text: '10.1.0.1', port: undefined });
    expect(parseDnatTarget('[fd00:10:180:0::1]:80', 'ipv6')).toMatchObject({ text: '[fd00:10:180::1]:80', port: 80 });
    expect(parseDnatTarget('10.1.0.1-10.1.0.9:80', 'ipv4')).toMatch(/ranges/);
    const t = tracer('*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DNAT --to-destination 10.1.0.1\nCOMMIT\n');
    const r = t.trace(pkt('1.2.3.4', '10.96.0.1', 443));
    expect(r.verdict).toBe('10.1.0.1');
  });

  it('SNAT and MASQUERADE in POSTROUTING', () => {
    const t = tracer(
      '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE --random-fully\n-A POSTROUTING -j SNAT --to-source 192.168.0.2\nCOMMIT\n',
    );
    expect(t.trace(pkt('10.0.0.1', '1.1.1.1')).masquerade).toBe(true);
    const r = t.trace(pkt('172.16.0.1', '1.1.1.1'));
    expect(r.masquerade).toBe(false);
    expect(r.branches[0]!.snat).toBe('192.168.0.2');
  });

  it('LOG and no-target rules go on', () => {
    const t = tracer(
      `${FILTER_HEAD}-A FORWARD -j LOG --log-prefix "x "\n-A FORWARD -j LOG\n-A FORWARD -m comment --comment count\n-A FORWARD -j DROP\nCOMMIT\n`,
    );
    const r = t.trace(pkt('10.0.0.1', '10.1.0.1'));
    expect(r.verdict).toBe('DROP');
    expect(r.path.filter((s) => s.kind === 'rule')).toHaveLength(4);
  });

  it('a target it does not model makes the answer conditional, naming the rule and its line', () => {
    const t = tracer('*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p udp -j CT --notrack\nCOMMIT\n');
    const r = t.trace({ ...pkt('10.0.0.1', '10.1.0.1'), protocol: 'udp' });
    expect(r.conditions).toEqual([
      'raw PREROUTING #1 (line 3) matches, but ktables does not model its target (-j CT --notrack): traced as if the walk went on: -A PREROUTING -p udp -j CT --notrack',
    ]);
    // ... but only on the path: a TCP packet never reaches it.
    expect(t.trace(pkt('10.0.0.1', '10.1.0.1')).conditions).toBeUndefined();
    // Targets that decide nothing (CHECKSUM, NFLOG) need no answer.
    const m = tracer('*mangle\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -p tcp -j CHECKSUM --checksum-fill\nCOMMIT\n').trace(
      pkt('10.0.0.1', '10.1.0.1'),
    );
    expect(m.conditions).toBeUndefined();
  });

  it('a jump to a chain that is not there is conditional; jump loops are errors', () => {
    const r = tracer(`${FILTER_HEAD}-A FORWARD -j KUBE-NOPE\n-A FORWARD -j DROP\nCOMMIT\n`).trace(pkt('10.0.0.1', '10.1.0.1'));
    expect(r.verdict).toBe('DROP');
    expect(r.conditions?.[0]).toMatch(/^filter FORWARD #1 \(line 5\) jumps to KUBE-NOPE, which is not in table filter/);
    const loop = `${FILTER_HEAD}:A - [0:0]\n-A FORWARD -j A\n-A A -j A\nCOMMIT\n`;
    expect(() => tracer(loop).trace(pkt('10.0.0.1', '10.1.0.1'))).toThrow(/loop/);
  });

  it('a match it cannot judge makes the answer conditional only when the rest of the rule matches', () => {
    const ir = parseIptables(`${FILTER_HEAD}-A FORWARD -d 10.9.9.9 -j DROP\nCOMMIT\n`);
    ir.tables[0]!.chains[1]!.rules[0]!.matches.push({ kind: 'other', text: '-m owner --uid-owner 0' });
    const t = new IptablesTracer(ir, { family: 'ipv4', addresses: NODE });
    expect(t.trace(pkt('10.0.0.1', '10.1.0.1')).verdict).toBe('');
    expect(t.trace(pkt('10.0.0.1', '10.1.0.1')).conditions).toBeUndefined();
    const r = t.trace(pkt('10.0.0.1', '10.9.9.9'));
    expect(r.verdict).toBe('');
    expect(r.conditions).toEqual([
      'filter FORWARD #1 (line 5) could match: ktables cannot judge -m owner --uid-owner 0; traced as not matching: -A FORWARD -d 10.9.9.9 -j DROP',
    ]);
  });

  it('refuses a packet of the wrong family', () => {
    expect(() => tracer(FILTER_HEAD + 'COMMIT\n').trace(pkt('fd00::1', '10.1.0.1'))).toThrow(UsageError);
  });
});

describe('trace: random matches and session affinity', () => {
  it('probabilities are the kernel rounding of round(p * 2^31) / 2^31, from 10 or 11 digits alike', () => {
    expect(kernelProbability('0.5000000000')).toBe(0.5);
    expect(kernelProbability('0.50000000000')).toBe(0.5);
    expect(kernelProbability('0.3333333333')).toBe(kernelProbability('0.33333333349'));
    expect(kernelProbability('1.0')).toBe(1);
    expect(kernelProbability('1.5')).toBeUndefined();
    expect(kernelProbability('x')).toBeUndefined();
  });

  it('a ladder of n endpoints gives each 1/n, in rule order, summing to one', () => {
    const n = 7;
    let text = '*nat\n:PREROUTING ACCEPT [0:0]\n:SVC - [0:0]\n-A PREROUTING -j SVC\n';
    for (let i = 0; i < n; i++) {
      const prob = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : '';
      text += `-A SVC${prob} -j DNAT --to-destination 10.1.0.${i + 1}:80\n`;
    }
    const r = tracer(`${text}COMMIT\n`).trace(pkt('10.0.0.1', '10.96.0.1'));
    expect(r.endpoints.map((e) => e.address)).toEqual(Array.from({ length: n }, (_, i) => `10.1.0.${i + 1}:80`));
    for (const e of r.endpoints) expect(e.probability).toBeCloseTo(1 / n, 8);
    expect(r.branches.reduce((s, b) => s + b.probability, 0)).toBeCloseTo(1, 12);
    expect(r.verdict).toBe(r.endpoints.map((e) => e.address).join(', '));
  });

  it('--rcheck / --update never match a new client; --set matches and records', () => {
    const t = tracer(`*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -m recent --name A --rcheck --seconds 10800 --reap -j DNAT --to-destination 10.1.0.1:80
-A PREROUTING -m recent --name A --update -j DNAT --to-destination 10.1.0.1:80
-A PREROUTING -m recent --name B --set --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.1.0.2:80
COMMIT
`);
    const r = t.trace(pkt('10.0.0.1', '10.96.0.1'));
    expect(r.verdict).toBe('10.1.0.2:80');
    expect(r.branches[0]!.recent).toEqual(['B']);
  });

  it('path: false keeps the outcome and drops the steps', () => {
    const c = kubeProxyCases('iptables').find((x) => x.name === 'TestExternalTrafficPolicyCluster')!;
    const { tracer: t } = compileDir(c.dir);
    const p = pkt('203.0.113.2', '192.168.0.2', 3001);
    const full = t.trace(p);
    const bare = t.trace(p, { path: false });
    expect(bare.path).toEqual([]);
    expect(bare.branches.every((b) => b.steps.length === 0)).toBe(true);
    expect({ v: bare.verdict, m: bare.masquerade, e: bare.endpoints }).toEqual({ v: full.verdict, m: full.masquerade, e: full.endpoints });
  });

  it('probability 0 never matches, 1 always does (no branch)', () => {
    const t = tracer(
      '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m statistic --mode random --probability 0.0 -j DNAT --to-destination 10.1.0.1:80\n-A PREROUTING -m statistic --mode random --probability 1.0 -j DNAT --to-destination 10.1.0.2:80\nCOMMIT\n',
    );
    const r = t.trace(pkt('10.0.0.1', '10.96.0.1'));
    expect(r.branches).toHaveLength(1);
    expect(r.verdict).toBe('10.1.0.2:80');
  });
});

describe("trace: kube-proxy's jump rules", () => {
  const payload =
    '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.1.0.1:80\nCOMMIT\n';
  it('are added to a restore payload, only towards chains it has, and marked as added', () => {
    const t = tracer(payload);
    expect(t.addedJumps).toBe(true);
    const r = t.trace(pkt('10.0.0.1', '10.96.0.1'));
    expect(r.verdict).toBe('10.1.0.1:80');
    expect(r.path[0]).toMatchObject({
      chain: 'PREROUTING',
      added: true,
      text: '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    });
    expect(r.path[0]!.line).toBeUndefined();
  });
  it('are not added to a dump that has rules in its built-in chains, nor when told not to', () => {
    expect(tracer(`*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j ACCEPT\nCOMMIT\n`).addedJumps).toBe(false);
    expect(tracer(payload, { kubeProxyJumps: 'never' }).trace(pkt('10.0.0.1', '10.96.0.1')).verdict).toBe('');
  });
  it("a connection from the node to a LoadBalancer IP without endpoints is not rejected (KUBE-EXTERNAL-SERVICES hangs off INPUT and FORWARD only; kube-proxy's test tracer says REJECT)", () => {
    const c = kubeProxyCases('iptables').find((x) => x.name === 'TestNoEndpointsReject')!;
    const { tracer: t } = compileDir(c.dir);
    const fromNode = t.trace(pkt('192.168.0.2', '1.2.3.4'));
    expect(fromNode.entry).toBe('OUTPUT');
    expect(fromNode.verdict).toBe('');
    expect(fromNode.path.some((s) => s.chain === 'KUBE-EXTERNAL-SERVICES')).toBe(false);
    expect(t.trace(pkt('203.0.113.2', '1.2.3.4')).verdict).toBe('REJECT');
  });
});

describe('trace: line numbers and rule text', () => {
  it('for a compile, are those of `ktables compile` output', () => {
    const c = kubeProxyCases('iptables').find((x) => x.name === 'TestExternalTrafficPolicyLocal')!;
    const { ruleset, tracer: t } = compileDir(c.dir);
    const lines = emitIptables(ruleset).split('\n');
    const r = t.trace(pkt('203.0.113.2', '192.168.0.2', 3001));
    const ruleSteps = r.path.filter((s) => s.kind === 'rule' && !s.added);
    expect(ruleSteps.length).toBeGreaterThan(5);
    for (const s of ruleSteps) expect(lines[s.line! - 1]).toBe(s.text);
  });
  it('for a rule file, are the file lines, text as written', () => {
    const text = `# a dump\n${FILTER_HEAD}-A FORWARD -d 10.1.0.1/32 -p tcp -m comment --comment "x y" -m tcp --dport 80 -j DROP\nCOMMIT\n`;
    const r = tracer(text).trace(pkt('10.0.0.1', '10.1.0.1'));
    expect(r.path.at(-1)).toMatchObject({
      line: 6,
      position: 1,
      text: '-A FORWARD -d 10.1.0.1/32 -p tcp -m comment --comment "x y" -m tcp --dport 80 -j DROP',
    });
  });
});

describe('trace: the chain index', () => {
  // A long chain mixing rules keyed by destination, keyed by port, and unkeyed ones: the first
  // rule that matches must be the one a plain top-to-bottom scan finds.
  const ruleArb = fc.record({
    dst: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    dport: fc.option(fc.integer({ min: 80, max: 82 }), { nil: undefined }),
    src: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
  });
  it('finds the same first match as a linear scan', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 16, maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 80, max: 82 }),
        fc.integer({ min: 1, max: 2 }),
        (rules, d, port, s) => {
          let text = '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n';
          rules.forEach((r, i) => {
            const m = [
              r.src ? `-s 10.0.0.${r.src}/32` : '',
              r.dst ? `-d 10.96.0.${r.dst}/32` : '',
              r.dport ? `-p tcp -m tcp --dport ${r.dport}` : '',
            ]
              .filter(Boolean)
              .join(' ');
            text += `-A KUBE-SERVICES ${m} -j DNAT --to-destination 10.1.${i >> 8}.${i & 255}:80\n`;
          });
          const got = tracer(`${text}COMMIT\n`).trace(pkt(`10.0.0.${s}`, `10.96.0.${d}`, port)).verdict;
          const first = rules.findIndex((r) => (!r.src || r.src === s) && (!r.dst || r.dst === d) && (!r.dport || r.dport === port));
          expect(got).toBe(first < 0 ? '' : `10.1.${first >> 8}.${first & 255}:80`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
