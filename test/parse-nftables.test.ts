// Reading nft rule text: ktables' own dump form back to the same bytes, the nested form of
// `nft list ruleset` to the same rules, and errors that name the line.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuleError } from '../src/errors.js';
import { emitNftables } from '../src/emit/nftables.js';
import { nftTextForm, parseNftables } from '../src/parse/nftables.js';
import { ROOT, kubeProxyCases } from './helpers/cases.js';
import { NFT_GOLDEN_CASES, kernelNormalForm } from './helpers/nftables.js';

const LISTINGS = join(ROOT, 'fixtures', 'nftables', '_nft-list');

describe('parse nft dump form', () => {
  it('reads every expected and golden rule set back to the same text', () => {
    const texts = [
      ...kubeProxyCases('nftables').flatMap((c) => (c.expected ? [c.expected] : [])),
      ...NFT_GOLDEN_CASES.map((n) => readFileSync(join(ROOT, 'golden', 'nftables', `${n}.nft`), 'utf8')),
    ];
    expect(texts.length).toBeGreaterThanOrEqual(20);
    for (const text of texts) {
      const rs = parseNftables(text);
      const others = rs.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.filter((r) => r.exprs.some((e) => e.kind === 'other'))));
      expect(others, 'every rule is understood').toEqual([]);
      expect(emitNftables(rs)).toBe(text);
    }
  });

  it('reads rules into structure, not text', () => {
    const rs = parseNftables(readFileSync(join(ROOT, 'golden', 'nftables', 'session-affinity.nft'), 'utf8'));
    const t = rs.tables[0]!;
    expect(t).toMatchObject({ family: 'ip', name: 'kube-proxy', comment: 'rules for kube-proxy' });
    expect(t.chains.find((c) => c.name === 'filter-prerouting-pre-dnat')?.base).toEqual({
      type: 'filter',
      hook: 'prerouting',
      priority: -110,
    });
    const svc = t.chains.find((c) => c.name.startsWith('service-G5HJIGAW'))!;
    expect(svc.rules[1]!.exprs[0]).toEqual({
      kind: 'lookup',
      l3: 'ip',
      field: 'saddr',
      set: 'affinity-TYVEAHPL-shop/sticky/tcp/http__10.244.0.4/8080',
      negate: false,
    });
    expect(svc.rules.at(-1)!.verdict).toMatchObject({ kind: 'numgen', mod: 3 });
    const aff = t.sets.find((s) => s.name.startsWith('affinity-TYVEAHPL'))!;
    expect(aff).toMatchObject({ kind: 'set', keyType: ['ipv4_addr'], flags: ['dynamic', 'timeout'], timeout: 600 });
    const ips = t.sets.find((s) => s.name === 'service-ips')!;
    expect(ips.elements[0]).toEqual({
      key: ['10.96.10.10', 'tcp', '80'],
      value: { kind: 'goto', chain: 'service-G5HJIGAW-shop/sticky/tcp/http' },
    });
  });

  it('keeps a rule it cannot read verbatim, with its comment', () => {
    const text = 'add table ip t\nadd chain ip t c\nadd rule ip t c meta skuid 0 log prefix "x y" accept comment "odd"\n';
    const rule = parseNftables(text).tables[0]!.chains[0]!.rules[0]!;
    expect(rule.exprs).toEqual([{ kind: 'other', text: 'meta skuid 0 log prefix "x y" accept' }]);
    expect(rule.comment).toBe('odd');
    expect(emitNftables(parseNftables(text))).toBe(text);
  });

  it('names the line of a structural error', () => {
    const bad = (text: string, msg: RegExp) => {
      expect(() => parseNftables(text)).toThrow(RuleError);
      expect(() => parseNftables(text)).toThrow(msg);
    };
    bad('add table ip t\nadd rule ip t nochain drop\n', /line 2: .*chain nochain does not exist/);
    bad('add table ip t\nadd element ip t s { 1.2.3.4 }\n', /line 2: .*set or map s does not exist/);
    bad('add chain ip t c\n', /line 1: .*table ip t does not exist/);
    bad('add table ip t\ndelete chain ip t c\n', /line 2: .*unsupported command "delete"/);
    bad('add table ip t { comment "x ; }\n', /line 1: unterminated string/);
    bad('iptables -A FOO\n', /not an nft rule set/);
    // White space nft does not know (form feed, vertical tab) is refused at once, in both forms:
    // it once made the tokenizer loop on an empty word until memory ran out.
    bad('add table ip t { comm\f }\n', /line 1: unexpected character "\\f"/);
    bad('table ip t {\n\tchain c {\v}\n}\n', /line 2: unexpected character "\\u000b"/);
  });

  it('tells the two forms apart', () => {
    expect(nftTextForm('# comment\n\nadd table ip kube-proxy\n')).toBe('dump');
    expect(nftTextForm('table ip kube-proxy {\n}\n')).toBe('list');
    expect(nftTextForm('*nat\n:KUBE-SERVICES - [0:0]\n')).toBeUndefined();
  });
});

describe('parse nft list ruleset', () => {
  const cases = kubeProxyCases('nftables');
  for (const file of readdirSync(LISTINGS).filter((f) => f.endsWith('.nft-list'))) {
    it(`${file}: the kernel's listing holds kube-proxy's expected rules`, () => {
      const expected = cases.find((c) => `${c.name.replace('/', '@')}.nft-list` === file)!.expected!;
      const listed = parseNftables(readFileSync(join(LISTINGS, file), 'utf8'));
      const others = listed.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.filter((r) => r.exprs.some((e) => e.kind === 'other'))));
      expect(others).toEqual([]);
      expect(kernelNormalForm(listed)).toBe(kernelNormalForm(parseNftables(expected)));
    });
  }

  it('reads named priorities, policies, handles, counters, dynamic elements and other tables', () => {
    const text = `table ip filter { # handle 1
	chain INPUT { # handle 1
		type filter hook input priority filter; policy drop;
		counter packets 3 bytes 180 xt target "KUBE-FIREWALL" # handle 4
	}
}
table ip kube-proxy { # handle 2
	comment "rules for kube-proxy"
	set affinity-X {
		type ipv4_addr
		size 65535
		flags dynamic,timeout
		timeout 3h
		elements = { 10.0.0.7 timeout 3h expires 2h59m58s500ms, 10.0.0.8 timeout 3h expires 1h }
	}

	chain filter-prerouting-pre-dnat { # handle 3
		type filter hook prerouting priority dstnat - 10; policy accept;
		ct state new counter packets 0 bytes 0 jump firewall-check # handle 9
	}

	chain nat-postrouting {
		type nat hook postrouting priority srcnat + 5; policy accept;
		iifname != "veth*" meta mark & 0x00004000 != 0x00000000 masquerade fully-random comment "x"
	}

	chain firewall-check {
		ip saddr != { 1.2.3.4, 10.0.0.0/8 } drop
		tcp dport { 80, 443 } reject with tcp reset
	}
}
`;
    const rs = parseNftables(text);
    expect(rs.tables.map((t) => `${t.family} ${t.name}`)).toEqual(['ip filter', 'ip kube-proxy']);
    expect(rs.tables[0]!.chains[0]!.base).toEqual({ type: 'filter', hook: 'input', priority: 0, policy: 'drop' });
    // What it can read stays structured; the rest is kept as written.
    expect(rs.tables[0]!.chains[0]!.rules[0]!.exprs).toEqual([
      { kind: 'counter', text: 'counter packets 3 bytes 180' },
      { kind: 'other', text: 'xt target "KUBE-FIREWALL"' },
    ]);
    const kp = rs.tables[1]!;
    expect(kp.sets[0]).toMatchObject({ timeout: 10800, size: 65535, elements: [{ key: ['10.0.0.7'] }, { key: ['10.0.0.8'] }] });
    const [pre, post, fw] = kp.chains;
    expect(pre!.base).toEqual({ type: 'filter', hook: 'prerouting', priority: -110, policy: 'accept' });
    expect(pre!.rules[0]).toMatchObject({
      exprs: [{ kind: 'ctState', states: ['new'] }, { kind: 'counter' }],
      verdict: { kind: 'jump', chain: 'firewall-check' },
      source: { line: 19 },
    });
    expect(post!.base!.priority).toBe(105);
    expect(post!.rules[0]).toMatchObject({
      exprs: [
        { kind: 'ifname', name: 'veth*', negate: true, quoted: true },
        { kind: 'markMatch', mask: '0x00004000', value: '0x00000000', negate: true },
      ],
      verdict: { kind: 'masquerade', fullyRandom: true },
      comment: 'x',
    });
    expect(fw!.rules[0]!.exprs[0]).toMatchObject({ kind: 'addr', field: 'saddr', negate: true, values: ['1.2.3.4', '10.0.0.0/8'] });
    expect(fw!.rules[1]).toMatchObject({
      exprs: [{ kind: 'port', protocol: 'tcp', values: ['80', '443'] }],
      verdict: { kind: 'reject', with: 'tcp reset' },
    });
  });
});
