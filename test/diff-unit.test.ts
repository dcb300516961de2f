// Unit tests of `ktables diff`'s parts: what the normalizer folds together (and what it must
// not), the line diff, attribution without comments and of stale chains, input detection,
// and the CLI's error paths and options.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRuleWords, tokenize } from '../src/parse/iptables.js';
import { fillKey, normalizeRule } from '../src/ir/iptables-key.js';
import { diffKeys, hunks } from '../src/util/line-diff.js';
import { attribute, commentService } from '../src/kubeproxy/iptables-owners.js';
import { readIptablesRules } from '../src/parse/chain-cache.js';
import { rulesKind } from '../src/parse/read.js';
import { iptablesSide } from '../src/diff/iptables.js';
import { hashPrefix } from '../src/util/hash.js';
import { runCliAsync } from './helpers/cli.js';
import { DIFF_FIXTURES } from './diff-helpers.js';

function key(body: string, family: 'ipv4' | 'ipv6' = 'ipv4'): string {
  const rule = parseRuleWords(tokenize(body, 1), 1, body);
  return fillKey(normalizeRule(rule, family), (c) => c);
}

describe('normalize: same behaviour, same key', () => {
  const same: [string, string, ('ipv4' | 'ipv6')?][] = [
    ['-d 10.0.0.1 -j ACCEPT', '-d 10.0.0.1/32 -j ACCEPT'],
    ['-s 10.0.0.7/24 -j ACCEPT', '-s 10.0.0.0/24 -j ACCEPT'],
    // A mask written out is the prefix length it stands for (iptables-save prints either).
    ['-s 10.0.0.0/255.0.0.0 -j ACCEPT', '-s 10.0.0.0/8 -j ACCEPT'],
    ['! -d 10.1.2.3/255.255.0.0 -j ACCEPT', '! -d 10.1.0.0/16 -j ACCEPT'],
    ['-d 10.0.0.1/255.255.255.255 -j ACCEPT', '-d 10.0.0.1 -j ACCEPT'],
    ['-s fd00::/ffff:ffff:: -j ACCEPT', '-s fd00::/32 -j ACCEPT', 'ipv6'],
    ['-d fd00::0001 -j ACCEPT', '-d fd00:0:0::1/128 -j ACCEPT', 'ipv6'],
    [
      '-m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
      '! -s 10.0.0.0/8 -d 1.2.3.4/32 -p tcp -m comment --comment "ns/a:p cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
    ],
    [
      '-m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-X',
      '-m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-X',
    ],
    [
      '-m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-X',
      '-m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-X',
    ],
    ['-j MARK --or-mark 0x4000', '-j MARK --set-xmark 0x4000/0x4000'],
    ['-j MARK --or-mark 0x00004000', '-j MARK --set-xmark 0x4000/0x4000'],
    ['-j MARK --xor-mark 0x4000', '-j MARK --set-xmark 0x4000/0x0'],
    ['-j MARK --set-mark 0x1', '-j MARK --set-xmark 0x1/0xffffffff'],
    ['-m mark ! --mark 0x00004000/0x00004000 -j RETURN', '-m mark ! --mark 0x4000/0x4000 -j RETURN'],
    ['-p tcp -d 1.2.3.4 --dport 80 -j REJECT', '-d 1.2.3.4/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable'],
    ['-j REJECT', '-j REJECT --reject-with icmp6-port-unreachable', 'ipv6'],
    [
      '-m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A',
      '-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource -j KUBE-SEP-A',
    ],
    [
      '-m recent --name KUBE-SEP-A --set -m tcp -p tcp -j DNAT --to-destination [fd00::3]:80',
      '-p tcp -m recent --set --name KUBE-SEP-A --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff --rsource -m tcp -j DNAT --to-destination [fd00:0::3]:80',
      'ipv6',
    ],
    ['-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP', '-m conntrack ! --ctstate DNAT,ESTABLISHED,RELATED -j DROP'],
    ['-m comment --comment ns/a:p -s 10.1.0.5 -j KUBE-MARK-MASQ', '-s 10.1.0.5 -j KUBE-MARK-MASQ'], // comments never count
    ['-m nfacct --nfacct-name  ct_state_invalid_dropped_pkts -j DROP', '-m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP'],
  ];
  for (const [a, b, family] of same) {
    it(`${a}  ≡  ${b}`, () => expect(key(a, family)).toBe(key(b, family)));
  }
});

describe('normalize: different behaviour, different key', () => {
  const differ: [string, string][] = [
    ['-s 10.0.0.0/8 -j KUBE-MARK-MASQ', '! -s 10.0.0.0/8 -j KUBE-MARK-MASQ'],
    // A mask whose ones are not contiguous is a different network from any prefix.
    ['-s 10.0.0.0/255.0.255.0 -j ACCEPT', '-s 10.0.0.0/8 -j ACCEPT'],
    ['-p tcp --dport 80 -j ACCEPT', '-p tcp --dport 81 -j ACCEPT'],
    ['-p tcp --dport 80 -j ACCEPT', '-p udp --dport 80 -j ACCEPT'],
    ['-d 1.2.3.4 -j REJECT', '-d 1.2.3.4 -j DROP'],
    ['-j REJECT', '-j REJECT --reject-with icmp-host-prohibited'],
    ['-m statistic --mode random --probability 0.5000000000 -j X', '-m statistic --mode random --probability 0.3333333333 -j X'],
    ['-j MARK --or-mark 0x4000', '-j MARK --xor-mark 0x4000'],
    ['-j MASQUERADE', '-j MASQUERADE --random-fully'],
    ['-j KUBE-SVC-A', '-g KUBE-SVC-A'],
    ['-j DNAT --to-destination 10.0.0.1:80', '-j DNAT --to-destination 10.0.0.1:8080'],
    // nfacct counts only the packets that reach it: its place among the matches matters.
    [
      '-p tcp -m nfacct --nfacct-name n -m addrtype --dst-type LOCAL -j X',
      '-p tcp -m addrtype --dst-type LOCAL -m nfacct --nfacct-name n -j X',
    ],
    ['-m recent --name A --set -j X', '-m recent --name A --rcheck -j X'],
  ];
  for (const [a, b] of differ) {
    it(`${a}  ≠  ${b}`, () => expect(key(a)).not.toBe(key(b)));
  }
});

describe('unified diff', () => {
  const lcs = (a: string[], b: string[]) => {
    const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
    for (let i = a.length - 1; i >= 0; i--)
      for (let j = b.length - 1; j >= 0; j--) t[i]![j] = a[i] === b[j] ? t[i + 1]![j + 1]! + 1 : Math.max(t[i + 1]![j]!, t[i]![j + 1]!);
    return t[0]![0]!;
  };
  it('is a shortest edit script that rebuilds both sides', async () => {
    const seq = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 14 });
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const edits = diffKeys(a, b);
        expect(edits.filter((e) => e.op !== '+').map((e) => a[e.a])).toEqual(a);
        expect(edits.filter((e) => e.op !== '-').map((e) => b[e.b])).toEqual(b);
        for (const e of edits) if (e.op === ' ') expect(a[e.a]).toBe(b[e.b]);
        expect(edits.filter((e) => e.op === ' ').length).toBe(lcs(a, b));
      }),
      { numRuns: 400 },
    );
  });
  it('hunk headers count the lines they hold', async () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 30 }),
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 30 }),
        fc.nat(4),
        (a, b, context) => {
          for (const h of hunks(
            diffKeys(a, b),
            (i) => a[i]!,
            (i) => b[i]!,
            context,
          )) {
            expect(h.lines.filter((l) => l.op !== '+').length).toBe(h.oldLines);
            expect(h.lines.filter((l) => l.op !== '-').length).toBe(h.newLines);
            const olds = h.lines.filter((l) => l.op !== '+').map((l) => l.text);
            if (h.oldLines > 0) expect(a.slice(h.oldStart - 1, h.oldStart - 1 + h.oldLines)).toEqual(olds);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
  it('stays linear in memory for very different long chains', async () => {
    const a = Array.from({ length: 20000 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 20000 }, (_, i) => `b${i}`);
    const edits = diffKeys(a, b);
    expect(edits.filter((e) => e.op === '-').length).toBe(20000);
    expect(edits.filter((e) => e.op === '+').length).toBe(20000);
  });
});

const BASE_RULES = readFileSync(join(DIFF_FIXTURES, 'rule-order', 'old', 'base.rules'), 'utf8');

describe('attribution', () => {
  it('reads the service port out of every kube-proxy comment', async () => {
    expect(commentService('ns1/svc1:p80 cluster IP')).toBe('ns1/svc1:p80');
    expect(commentService('masquerade LOCAL traffic for ns2/svc2:p80 external destinations')).toBe('ns2/svc2:p80');
    expect(commentService('other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL')).toBe('ns5/svc5:p80');
    expect(commentService('ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C')).toBe('ns5/svc5:p80');
    expect(commentService('ns4/svc4:p80 -> 10.180.0.4:80')).toBe('ns4/svc4:p80');
    expect(commentService('ns/plain')).toBe('ns/plain');
    expect(commentService('kubernetes service portals')).toBeUndefined();
  });

  it('follows jumps where large clusters drop the comments', async () => {
    const bare = BASE_RULES.split('\n')
      .map((l) =>
        l.startsWith('-A KUBE-SEP-') || (l.startsWith('-A KUBE-SVC-') && l.includes('-j KUBE-SEP-'))
          ? l.replace(/ -m comment --comment (?:"[^"]*"|\S+)/, '')
          : l,
      )
      .join('\n');
    const withComments = attribute(readIptablesRules(BASE_RULES, 'ipv4'));
    const without = attribute(readIptablesRules(bare, 'ipv4'));
    expect([...without.chains].sort()).toEqual([...withComments.chains].sort());
    expect([...without.chains.values()].filter((o) => o.role === 'SEP').length).toBe(9);
  });

  it('recognises stale chains nothing jumps to by their hash', async () => {
    const ep = '10.244.9.9:8080';
    const sep = `KUBE-SEP-${hashPrefix(`shop/web:httptcp${ep}`, 16)}`;
    const svl = `KUBE-SVL-${hashPrefix('shop/web:httptcp', 16)}`;
    const text = BASE_RULES.replace(
      '*nat\n',
      `*nat\n:${sep} - [0:0]\n:${svl} - [0:0]\n-A ${sep} -s 10.244.9.9 -j KUBE-MARK-MASQ\n-A ${sep} -p tcp -j DNAT --to-destination ${ep}\n-A ${svl} -j ${sep}\n`,
    );
    // (The -A lines precede the other declarations, which iptables-restore accepts too.)
    const att = attribute(readIptablesRules(text, 'ipv4'));
    expect(att.chains.get(sep)).toEqual({ service: 'shop/web:http', role: 'SEP', endpoint: ep });
    expect(att.chains.get(svl)?.service).toBe('shop/web:http');
  });

  it('flags the NodePort dispatch when it is not the last rule of nat KUBE-SERVICES', async () => {
    const lines = BASE_RULES.split('\n');
    const last = lines.findIndex((l) => l.includes('must be the last rule'));
    const first = lines.findIndex((l) => l.startsWith('-A KUBE-SERVICES'));
    const moved = [...lines];
    const [rule] = moved.splice(last, 1);
    moved.splice(first, 0, rule!);
    const a = iptablesSide(readIptablesRules(BASE_RULES, 'ipv4'));
    const b = iptablesSide(readIptablesRules(moved.join('\n'), 'ipv4'));
    const nodeServices = (s: typeof a) => s.nodeWide.find((c) => c.id === 'nat KUBE-SERVICES')!;
    expect(nodeServices(a).keys()).not.toEqual(nodeServices(b).keys());
    expect(nodeServices(b).text(0)).toMatch(/# not last: \d+ service rules follow$/);
    // Services' own slices do not change: their order among services never matters.
    for (const [name, v] of a.services) expect(b.services.get(name)!.chains.map((c) => c.keys())).toEqual(v.chains.map((c) => c.keys()));
  });
});

describe('input detection', () => {
  it('tells rule files from manifests by content', async () => {
    expect(rulesKind('# Generated by iptables-save v1.8.9 (nf_tables) on ...\n*nat\n:PREROUTING ACCEPT [0:0]\n')).toBe('iptables');
    expect(rulesKind('\n*filter\nCOMMIT\n')).toBe('iptables');
    expect(rulesKind('table ip kube-proxy {\n\tchain services {\n')).toBe('nftables');
    expect(rulesKind('add table ip kube-proxy { comment "rules for kube-proxy" ; }\n')).toBe('nftables');
    expect(rulesKind('flush ruleset\n')).toBe('nftables');
    expect(rulesKind('# a comment\napiVersion: v1\nkind: Service\n')).toBe('manifests');
    expect(rulesKind('{"apiVersion": "v1", "kind": "List", "items": []}')).toBe('manifests');
    expect(rulesKind('')).toBe('manifests');
  });
});

describe('diff CLI', () => {
  const dir = join(DIFF_FIXTURES, 'endpoints');
  const args = ['--hostname-override', 'node-a', '--node-ip', '192.168.10.5', '--cluster-cidr', '10.244.0.0/16'];

  it('reads one side from stdin, rules or manifests, and mixes them with the other', async () => {
    const rules = (await runCliAsync(['compile', ...args, 'old'], { cwd: dir })).stdout;
    const a = await runCliAsync(['diff', '-', 'old', ...args, '--exit-code'], { cwd: dir, input: rules });
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    const manifests =
      readFileSync(join(dir, 'new', 'endpointslices.yaml'), 'utf8') + '---\n' + readFileSync(join(dir, 'new', 'services.yaml'), 'utf8');
    const b = await runCliAsync(['diff', 'old', '-', ...args, '--exit-code', '--format', 'json', '--stat'], { cwd: dir, input: manifests });
    expect(b.status).toBe(1);
    const doc = JSON.parse(b.stdout);
    expect(doc.new).toEqual({ source: '-', input: 'manifests', backend: 'iptables', family: 'ipv4' });
    expect(doc.services).toEqual([
      {
        name: 'shop/web:http',
        protocol: 'TCP',
        status: 'changed',
        stat: { rulesAdded: 3, rulesRemoved: 3, chainsAdded: 1, chainsRemoved: 1, endpointsAdded: 1, endpointsRemoved: 1 },
      },
    ]);
  });

  it('a mask written out is no difference from its prefix length', async () => {
    const rules = (await runCliAsync(['compile', ...args, 'old'], { cwd: dir })).stdout;
    expect(rules).toContain('! -s 10.244.0.0/16');
    const dotted = rules.replaceAll('! -s 10.244.0.0/16', '! -s 10.244.0.0/255.255.0.0');
    const r = await runCliAsync(['diff', '-', 'old', ...args, '--exit-code'], { cwd: dir, input: dotted });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('no semantic difference');
    expect(r.status).toBe(0);
  });

  it('exits 0 without --exit-code even when sides differ', async () => {
    const r = await runCliAsync(['diff', 'old', 'new', ...args], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('endpoints added: 10.244.1.12:8080');
  });

  it('colours only when asked or on a terminal', async () => {
    const always = await runCliAsync(['diff', 'old', 'new', ...args, '--color', 'always'], { cwd: dir });
    expect(always.stdout).toContain('\u001b[32m+');
    const auto = await runCliAsync(['diff', 'old', 'new', ...args], { cwd: dir });
    expect(auto.stdout).not.toContain('\u001b[');
  });

  it('honours --context', async () => {
    const r = await runCliAsync(['diff', 'old', 'new', ...args, '-U', '0', '--format', 'json'], { cwd: dir });
    const chains = JSON.parse(r.stdout).services[0].chains;
    for (const c of chains) for (const h of c.hunks) for (const l of h.lines) expect(l[0]).not.toBe(' ');
  });

  it('exits 2 on errors, as git diff does', async () => {
    const both = await runCliAsync(['diff', '-', '-'], { cwd: dir });
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('only one side can be read from stdin');
    const missing = await runCliAsync(['diff', 'old', 'no-such-file', '--exit-code'], { cwd: dir });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('no-such-file');
    // A rule it cannot read is an opaque rule, not an error; binary data is.
    const bad = await runCliAsync(['diff', '-', 'old', '--exit-code'], {
      cwd: dir,
      input: '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES \u0000\u0001\u001b[2J -j ACCEPT\nCOMMIT\n',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^ktables: error: -: line 3: binary data, not rule text: -A KUBE-SERVICES \\x00\\x01\\x1b\[2J -j ACCEPT\n$/);
    const mode = await runCliAsync(['diff', '-', 'old', '--proxy-mode', 'nftables'], { cwd: dir, input: '*nat\nCOMMIT\n' });
    expect(mode.status).toBe(2);
    expect(mode.stderr).toContain('holds iptables rules but --proxy-mode is nftables');
    for (const r of [both, missing, bad, mode]) {
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
