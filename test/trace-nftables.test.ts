// The nft tracer's kernel semantics beyond kube-proxy's flow tests: affinity entries on a
// node, interface-based local detection, the output path and loopback, IPv6, branch
// bookkeeping, refusing what cannot load and answering conditionally on what it cannot read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuleError, UsageError } from '../src/errors.js';
import { parseNftables } from '../src/parse/nftables.js';
import { NftablesTracer, nftRulesetFamily, traceNftables } from '../src/trace/nftables.js';
import type { TraceResult } from '../src/trace/packet.js';
import { ROOT } from './helpers/cases.js';
import { NODE4, tcp } from './helpers/packets.js';

const golden = (name: string) => readFileSync(join(ROOT, 'golden', 'nftables', `${name}.nft`), 'utf8');

function wellFormed(r: TraceResult): void {
  expect(r.branches.reduce((p, b) => p + b.probability, 0)).toBeCloseTo(1, 9);
  for (const b of r.branches) for (const i of b.steps) expect(r.path[i]).toBeDefined();
}

describe('nft trace', () => {
  it('spreads a new client over every endpoint, and follows an affinity entry a node already holds', () => {
    const rules = golden('session-affinity');
    const fresh = traceNftables(parseNftables(rules), NODE4, tcp('203.0.113.9', '10.96.10.10', 80));
    wellFormed(fresh);
    expect(fresh.endpoints.map((e) => e.address)).toEqual(['10.244.0.4:8080', '10.244.1.7:8080', '10.244.2.9:8080']);
    for (const e of fresh.endpoints) expect(e.probability).toBeCloseTo(1 / 3, 9);
    expect(fresh.branches.map((b) => b.recent[0]?.slice(0, 17))).toEqual(['affinity-TYVEAHPL', 'affinity-CJK72AQ6', 'affinity-YRP33BVM']);

    // The client is in 10.244.1.7's affinity set (as `nft list ruleset` would show it).
    const known = `${rules}add element ip kube-proxy affinity-CJK72AQ6-shop/sticky/tcp/http__10.244.1.7/8080 { 203.0.113.9 timeout 10m }\n`;
    const sticky = traceNftables(parseNftables(known), NODE4, tcp('203.0.113.9', '10.96.10.10', 80));
    expect(sticky.verdict).toBe('10.244.1.7:8080');
    expect(sticky.branches).toHaveLength(1);
    const other = traceNftables(parseNftables(known), NODE4, tcp('203.0.113.10', '10.96.10.10', 80));
    expect(other.endpoints).toHaveLength(3);
  });

  it('knows pod traffic by its input interface (iifname), and says when it was not told', () => {
    const rs = parseNftables(golden('bridge-interface-detector'));
    const fromPod = traceNftables(rs, NODE4, tcp('10.244.3.3', '192.168.10.5', 30010, { inInterface: 'cbr0' }));
    expect(fromPod.path.some((s) => s.text.includes('iifname cbr0 goto service-'))).toBe(true);
    expect(fromPod).toMatchObject({ verdict: '10.244.0.10:8080', masquerade: false, notes: [] });
    const unknown = traceNftables(rs, NODE4, tcp('10.244.3.3', '10.96.1.10', 80));
    expect(unknown).toMatchObject({ verdict: '10.244.0.10:8080', masquerade: true });
    expect(unknown.notes.join('\n')).toMatch(/matches the input interface: assumed eth0 \(give --in-interface\)/);
    const viaBridge = traceNftables(rs, NODE4, tcp('10.244.3.3', '10.96.1.10', 80, { inInterface: 'cbr0' }));
    expect(viaBridge.masquerade).toBe(false);
    const prefix = parseNftables(golden('interface-prefix-detector'));
    expect(traceNftables(prefix, NODE4, tcp('10.244.3.3', '10.96.1.10', 80, { inInterface: 'veth12ab' })).masquerade).toBe(false);
    expect(traceNftables(prefix, NODE4, tcp('10.244.3.3', '10.96.1.10', 80, { inInterface: 'eth0' })).masquerade).toBe(true);
  });

  it("assumes the iptables tracer's default interfaces, and only where a rule's other tests pass", () => {
    // Rules added by hand to kube-proxy's forward chain: their interface tests sit in the way.
    const rs =
      parseNftables(`${golden('bridge-interface-detector')}add rule ip kube-proxy filter-forward iifname "virbr0" udp dport 68 accept
add rule ip kube-proxy filter-forward oifname "eth0" tcp dport 8080 counter
add rule ip kube-proxy filter-forward iifname "eth9" oifname "eth0" drop
`);
    const r = traceNftables(rs, NODE4, tcp('203.0.113.9', '10.96.1.10', 80));
    expect(r.verdict).toBe('10.244.0.10:8080');
    const assumed = r.notes.filter((n) => n.includes(': assumed '));
    // The UDP rule fails on its port: no interface asked. The counter rule assumes eth0 out; the
    // drop rule assumes both, and eth0 in is not eth9.
    expect(assumed.some((n) => n.includes('virbr0'))).toBe(false);
    expect(assumed.filter((n) => n.includes('filter-forward')).map((n) => n.replace(/ #\d+ \(line \d+\)/, ''))).toEqual([
      'ip kube-proxy filter-forward matches the output interface: assumed eth0 (give --out-interface)',
      'ip kube-proxy filter-forward matches the input interface: assumed eth0 (give --in-interface)',
    ]);
    // Given interfaces, nothing is assumed, and the drop rule decides.
    const told = traceNftables(rs, NODE4, tcp('203.0.113.9', '10.96.1.10', 80, { inInterface: 'eth9', outInterface: 'eth0' }));
    expect(told.verdict).toBe('DROP');
    expect(told.notes.filter((n) => n.includes(': assumed '))).toEqual([]);
  });

  it('names every missing fact of a rule in one run: the assumed interface and the source port', () => {
    // Rules another tool put in kube-proxy's forward chain: an interface and a source port.
    const rs = parseNftables(`${golden('bridge-interface-detector')}add rule ip kube-proxy filter-forward iifname "virbr0" tcp sport 67 drop
add rule ip kube-proxy filter-forward iifname "eth0" tcp sport 1024-65535 drop
`);
    const r = traceNftables(rs, NODE4, tcp('203.0.113.9', '10.96.1.10', 80));
    expect(r.verdict).toBe('10.244.0.10:8080');
    // virbr0 is not the assumed eth0: that rule fails whatever the source port, and asks nothing more.
    expect(r.conditions).toHaveLength(1);
    expect(r.conditions![0]).toMatch(
      /^ip kube-proxy filter-forward #\d+ \(line \d+\) could match: it matches the source port \(give --sport\); traced as not matching: iifname "eth0" tcp sport 1024-65535 drop$/,
    );
    const assumed = r.notes.filter((n) => n.includes('filter-forward') && n.includes(': assumed '));
    // Both rules were judged with eth0 in: each says so.
    expect(assumed.map((n) => n.replace(/ #\d+ \(line \d+\)/, ''))).toEqual([
      'ip kube-proxy filter-forward matches the input interface: assumed eth0 (give --in-interface)',
      'ip kube-proxy filter-forward matches the input interface: assumed eth0 (give --in-interface)',
    ]);
    // With both facts given, the rule decides.
    const told = traceNftables(rs, NODE4, tcp('203.0.113.9', '10.96.1.10', 80, { inInterface: 'eth0', sport: 40000 }));
    expect(told.verdict).toBe('DROP');
    expect(told.conditions).toBeUndefined();
  });

  it('starts a packet from the node in the output hook and loops it back to itself', () => {
    const rs = parseNftables(golden('lb-source-range-contains-node'));
    // "closed" has no endpoints: its NodePort is rejected on the way in through lo.
    const r = traceNftables(rs, NODE4, tcp('192.168.10.5', '192.168.10.5', 30445));
    expect(r).toMatchObject({ entry: 'OUTPUT', verdict: 'REJECT' });
    const hooks = r.path.map((s) => s.hook);
    expect(hooks.indexOf('OUTPUT')).toBeLessThan(hooks.indexOf('routing'));
    expect(hooks.indexOf('routing')).toBeLessThan(hooks.lastIndexOf('INPUT'));
    expect(r.path.find((s) => s.kind === 'route')!.text).toMatch(/out through lo and back in/);
    // A source range containing the node IP lets the node reach the LB IP; other ranges do not.
    expect(traceNftables(rs, NODE4, tcp('192.168.10.5', '198.51.100.10', 443)).verdict).toBe('10.244.1.20:8443');
    expect(traceNftables(rs, NODE4, tcp('192.168.10.5', '198.51.100.12', 443)).verdict).toBe('DROP');
    // The LB IP itself as source (a VIP looped back by the node) is allowed where the node is.
    expect(traceNftables(rs, NODE4, tcp('198.51.100.11', '198.51.100.10', 443)).verdict).toBe('10.244.1.20:8443');
    // NodePorts are never subject to source ranges.
    expect(traceNftables(rs, NODE4, tcp('198.18.0.1', '192.168.10.5', 30444)).verdict).toBe('10.244.1.21:8443');
  });

  it('traces IPv6 rule sets, brackets and all', () => {
    const rs = parseNftables(golden('ipv6-single-stack'));
    expect(nftRulesetFamily(rs)).toBe('ipv6');
    const node = { family: 'ipv6' as const, addresses: ['192.168.10.5', '2001:db8::5'] };
    const ok = traceNftables(rs, node, tcp('2001:db8::99', '2001:db8:ee::1', 80));
    expect(ok.verdict).toBe('[fd00:244::1:b]:8080, [fd00:244::a]:8080');
    expect(ok.masquerade).toBe(true);
    expect(traceNftables(rs, node, tcp('2001:db8:1::99', '2001:db8:ee::1', 80)).verdict).toBe('DROP');
    expect(traceNftables(rs, node, { ...tcp('fd00:244::7', 'fd00:96::11', 53), protocol: 'udp' }).verdict).toBe('REJECT');
    expect(traceNftables(rs, node, tcp('fd00:244::7', 'fd00:96::99', 80)).verdict).toBe('DROP');
    expect(() => traceNftables(rs, node, tcp('10.0.0.1', '10.96.60.10', 80))).toThrow(UsageError);
  });

  it('matches NodePorts on every local address but loopback with --nodeport-addresses 0.0.0.0/0', () => {
    const rs = parseNftables(golden('nodeport-match-all'));
    const node = { family: 'ipv4' as const, addresses: ['192.168.10.5', '10.1.2.3'] };
    expect(traceNftables(rs, node, tcp('203.0.113.1', '10.1.2.3', 30210)).verdict).toBe('10.244.1.10:8080');
    expect(traceNftables(rs, node, tcp('203.0.113.1', '10.1.2.3', 30211)).verdict).toBe('REJECT');
    expect(traceNftables(rs, node, tcp('127.0.0.1', '127.0.0.1', 30210)).verdict).toBe('');
    expect(traceNftables(rs, node, tcp('10.244.0.9', '10.100.7.7', 80)).verdict).toBe('DROP');
  });

  it('uses only the endpoints topology leaves', () => {
    const rs = parseNftables(golden('topology-zone-hints'));
    expect(traceNftables(rs, NODE4, tcp('10.244.0.9', '10.96.30.30', 9090)).verdict).toBe('10.244.0.21:9090, 10.244.3.21:9090');
    expect(traceNftables(rs, NODE4, tcp('10.244.0.9', '10.96.30.31', 9090)).verdict).toBe('10.244.0.22:9090, 10.244.1.22:9090');
  });

  it('answers the same without recording the path', () => {
    const rs = parseNftables(golden('session-affinity'));
    const p = tcp('203.0.113.9', '192.168.10.5', 30080);
    const full = traceNftables(rs, NODE4, p);
    const bare = new NftablesTracer(rs, NODE4).trace(p, { path: false });
    expect(bare.path).toEqual([]);
    expect(bare.branches.every((b) => b.steps.length === 0)).toBe(true);
    expect({ ...bare, path: full.path, branches: full.branches }).toEqual(full);
    expect(bare.branches.map(({ steps: _s, ...b }) => b)).toEqual(full.branches.map(({ steps: _s, ...b }) => b));
  });

  it('counts a pick among one as no fork', () => {
    const r = traceNftables(parseNftables(golden('itp-local')), NODE4, tcp('10.244.0.9', '10.96.60.60', 9100));
    expect(r.verdict).toBe('10.244.0.60:9100');
    expect(r.path.every((s) => s.depth === 0)).toBe(true);
    wellFormed(r);
  });

  const tiny = (body: string) =>
    parseNftables(
      `add table ip kube-proxy\nadd chain ip kube-proxy pre { type nat hook prerouting priority -100 ; }\nadd chain ip kube-proxy fwd { type filter hook forward priority 0 ; policy drop ; }\nadd chain ip kube-proxy x\n${body}`,
    );

  it('applies a base chain policy of drop', () => {
    const r = traceNftables(tiny(''), NODE4, tcp('1.1.1.1', '2.2.2.2', 80));
    expect(r.verdict).toBe('DROP');
    expect(r.path.at(-1)).toMatchObject({ kind: 'policy', text: 'policy drop of ip kube-proxy fwd' });
    expect(traceNftables(tiny(''), NODE4, tcp('1.1.1.1', '192.168.10.5', 80)).verdict).toBe('');
  });

  it('looks up interval and concatenated elements the way the kernel does', () => {
    const rs = tiny(
      [
        'add set ip kube-proxy nets { type ipv4_addr ; flags interval ; }',
        'add map ip kube-proxy ports { type inet_proto . inet_service : verdict ; flags interval ; }',
        'add rule ip kube-proxy pre ip saddr @nets jump x',
        'add rule ip kube-proxy x meta l4proto . th dport vmap @ports',
        'add element ip kube-proxy nets { 10.0.0.0/8, 172.16.0.1-172.16.0.9 }',
        'add element ip kube-proxy ports { 6 . 8000-8999 : drop }',
        '',
      ].join('\n'),
    );
    const to = (src: string, dport: number) => traceNftables(rs, NODE4, tcp(src, '192.168.10.5', dport)).verdict;
    expect([to('10.9.9.9', 8080), to('172.16.0.5', 8999), to('172.16.0.10', 8080), to('10.9.9.9', 9000)]).toEqual(['DROP', 'DROP', '', '']);
  });

  it('a rule it cannot read makes the answer conditional only when a packet reaches it', () => {
    const rs = tiny(
      'add rule ip kube-proxy pre ip daddr 9.9.9.9 meta skuid 0 accept\nadd rule ip kube-proxy pre ip daddr 8.8.8.8 jump x\nadd rule ip kube-proxy x meta skuid 0 accept\n',
    );
    const missed = traceNftables(rs, NODE4, tcp('1.1.1.1', '192.168.10.5', 80));
    expect(missed.verdict).toBe('');
    expect(missed.conditions).toBeUndefined();
    const reached = traceNftables(rs, NODE4, tcp('1.1.1.1', '8.8.8.8', 80));
    expect(reached.verdict).toBe('DROP');
    expect(reached.conditions).toEqual([
      'ip kube-proxy x #1 (line 7) could match: ktables cannot judge meta skuid 0 accept; traced as not matching: meta skuid 0 accept',
    ]);
  });

  it('refuses NAT reached from a filter chain, as the kernel refuses to load it', () => {
    const rs = tiny('add rule ip kube-proxy fwd jump x\nadd rule ip kube-proxy x dnat to 10.0.0.1:80\n');
    expect(() => traceNftables(rs, NODE4, tcp('1.1.1.1', '2.2.2.2', 80))).toThrow(RuleError);
  });

  it("walks only kube-proxy's table and says which it ignored", () => {
    const rs = parseNftables(
      `${golden('itp-local')}add table ip filter\nadd chain ip filter INPUT { type filter hook input priority 0 ; policy drop ; }\n`,
    );
    const tracer = new NftablesTracer(rs, NODE4);
    const r = tracer.trace(tcp('10.244.0.9', '192.168.10.5', 22));
    expect(r.verdict).toBe('');
    expect(r.notes).toContain("ignored table ip filter: only kube-proxy's rules are traced");
    expect(() => new NftablesTracer(parseNftables('add table ip other\n'), NODE4)).toThrow(/no ip kube-proxy table/);
  });
});
