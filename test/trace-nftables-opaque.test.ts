// The nft tracer on real listings: other tools' tables beside kube-proxy's and expressions
// ktables does not read. An unread expression never stops a trace: a rule whose other matches
// fail is skipped, one that could match and decide makes the answer conditional and says which
// rule, as the iptables tracer does for opaque matches.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNftables } from '../src/parse/nftables.js';
import { readRules } from '../src/parse/read.js';
import { NftablesTracer, traceNftables } from '../src/trace/nftables.js';
import { ROOT } from './helpers/cases.js';
import { NODE4, tcp } from './helpers/packets.js';

describe('a node listing with other tables and unread expressions', () => {
  const file = join(ROOT, 'fixtures', 'nft-listings', 'production-defaults-with-other-tables.nft');
  const read = readRules(readFileSync(file, 'utf8'), file);
  if (read.kind !== 'nftables') throw new Error('not read as nftables');
  const tracer = new NftablesTracer(read.ruleset, NODE4);
  const IGNORED = [
    "ignored table inet firewalld: only kube-proxy's rules are traced",
    "ignored table ip mangle-tproxy: only kube-proxy's rules are traced",
  ];

  it('is read whole, ct helper objects included', () => {
    expect(read.warnings).toEqual([]);
    expect(read.ruleset.tables.map((t) => `${t.family} ${t.name}`)).toEqual(['ip kube-proxy', 'inet firewalld', 'ip mangle-tproxy']);
  });

  it('a pod to a ClusterIP: the endpoints, conditional on the iifname vmap rule the packet reaches', () => {
    const r = tracer.trace(tcp('10.244.1.9', '10.96.0.50', 80));
    expect(r.verdict).toBe('10.244.0.50:8080, 10.244.2.50:8080');
    // `meta nftrace set 1` (reached) decides nothing; the osf rule's port does not match.
    expect(r.conditions).toEqual([
      'ip kube-proxy filter-forward #3 (line 74) could match: ktables cannot judge iifname vmap { "cni0" : accept, "eth9" : drop }; traced as not matching: iifname vmap { "cni0" : accept, "eth9" : drop }',
    ]);
    expect(r.notes).toEqual(IGNORED);
  });

  it('fib daddr type local is read: a drop without conditions', () => {
    const r = tracer.trace(tcp('203.0.113.9', '192.168.10.5', 9100));
    expect(r.verdict).toBe('DROP');
    expect(r.conditions).toBeUndefined();
  });

  it('socket transparent: conditional for a source it could match, silent for one whose address fails', () => {
    const inside = tracer.trace(tcp('203.0.113.9', '192.168.10.5', 22));
    expect(inside.verdict).toBe('');
    expect(inside.conditions).toEqual([
      'ip kube-proxy filter-input #4 (line 83) could match: ktables cannot judge socket transparent 1 accept; traced as not matching: ip saddr 203.0.113.0/24 socket transparent 1 accept',
    ]);
    expect(tracer.trace(tcp('198.51.100.9', '192.168.10.5', 22)).conditions).toBeUndefined();
  });

  it('the node itself to the kubernetes Service: unaffected', () => {
    const r = tracer.trace(tcp('192.168.10.5', '10.96.0.1', 443));
    expect(r.verdict).toBe('192.168.10.5:6443');
    expect(r.conditions).toBeUndefined();
  });
});

describe('unread expressions in kube-proxy chains', () => {
  const tiny = (body: string) =>
    parseNftables(
      `add table ip kube-proxy\nadd chain ip kube-proxy pre { type filter hook prerouting priority -110 ; }\nadd chain ip kube-proxy fwd { type filter hook forward priority 0 ; }\nadd chain ip kube-proxy x\n${body}`,
    );
  const trace = (body: string, p = tcp('10.244.1.9', '10.0.0.1', 80)) => traceNftables(tiny(body), NODE4, p);

  it('statements that change nothing the walk follows neither stop it nor ask anything', () => {
    for (const st of [
      'meta nftrace set 1',
      'ct helper set "ftp"',
      'ip option ra exists counter',
      'tcp dport 80 ct helper set "ftp" log prefix "drop:"',
    ]) {
      const r = trace(`add rule ip kube-proxy pre ${st}\nadd rule ip kube-proxy fwd drop\n`);
      expect(r.verdict, st).toBe('DROP');
      expect(r.conditions, st).toBeUndefined();
    }
  });

  it('a match it cannot read before a verdict makes the answer conditional; the walk goes on as if it did not match', () => {
    for (const rule of [
      'fib daddr . iif oif missing drop',
      'osf name "Linux" drop',
      'ip option ra exists accept',
      'meta skuid 0 mark set 0x4000',
    ]) {
      const r = trace(`add rule ip kube-proxy fwd ${rule}\nadd rule ip kube-proxy fwd reject\n`);
      expect(r.verdict, rule).toBe('REJECT');
      expect(r.conditions, rule).toEqual([
        `ip kube-proxy fwd #1 (line 5) could match: ktables cannot judge ${rule}; traced as not matching: ${rule}`,
      ]);
    }
  });

  it('a rule whose readable matches fail is skipped without a word', () => {
    const r = trace(
      'add rule ip kube-proxy fwd ip daddr 10.9.9.9 osf name "Linux" drop\nadd rule ip kube-proxy fwd tcp dport 443 socket transparent 1 accept\n',
    );
    expect(r.verdict).toBe('');
    expect(r.conditions).toBeUndefined();
  });

  it('only the packet that reaches the rule gets the condition; the others are traced as before', () => {
    const rs = tiny(
      'add rule ip kube-proxy fwd ip daddr 10.0.0.1 iifname vmap { "cni0" : accept, "eth9" : drop }\nadd rule ip kube-proxy fwd drop\n',
    );
    const tracer = new NftablesTracer(rs, NODE4);
    const missed = tracer.trace(tcp('10.244.1.9', '10.0.0.2', 80));
    expect(missed.verdict).toBe('DROP');
    expect(missed.conditions).toBeUndefined();
    const reached = tracer.trace(tcp('10.244.1.9', '10.0.0.1', 80));
    expect(reached.verdict).toBe('DROP');
    expect(reached.conditions?.[0]).toMatch(/^ip kube-proxy fwd #1 \(line 5\) could match: ktables cannot judge iifname vmap/);
  });

  it('a source port not given, a missing map and a missing chain are conditions too', () => {
    const sport = trace('add rule ip kube-proxy fwd tcp sport 1000-2000 drop\n');
    expect(sport.verdict).toBe('');
    expect(sport.conditions).toEqual([
      'ip kube-proxy fwd #1 (line 5) could match: it matches the source port (give --sport); traced as not matching: tcp sport 1000-2000 drop',
    ]);
    expect(trace('add rule ip kube-proxy fwd tcp sport 1000-2000 drop\n', tcp('10.244.1.9', '10.0.0.1', 80, { sport: 1500 })).verdict).toBe(
      'DROP',
    );

    const map = trace('add rule ip kube-proxy fwd ip daddr . meta l4proto . th dport vmap @gone\n');
    expect(map.conditions).toEqual([
      'ip kube-proxy fwd #1 (line 5) could match: set or map @gone is not in table ip kube-proxy of these rules; traced as not matching: ip daddr . meta l4proto . th dport vmap @gone',
    ]);

    const chain = trace('add rule ip kube-proxy fwd jump gone\nadd rule ip kube-proxy fwd drop\n');
    expect(chain.verdict).toBe('DROP');
    expect(chain.conditions).toEqual([
      'ip kube-proxy fwd #1 (line 5) jumps to gone, which is not in table ip kube-proxy of these rules: traced as if it returned: jump gone',
    ]);
  });
});
