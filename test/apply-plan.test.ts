// apply's pure half: the payloads it would load, the rollback and cleanup it would run, the
// dry-run diff. No kernel needed.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  iptablesCleanupPayload,
  iptablesPayload,
  iptablesRollbackPayload,
  nftReplaceInput,
  planIptablesApply,
  planNftApply,
  emptyCreated,
} from '../src/apply/plan.js';
import { compileNftables } from '../src/backends/nftables/compile.js';
import { emitNftables } from '../src/emit/nftables.js';
import { chainBodies, chainOf, readNodeRules } from '../src/apply/node-rules.js';
import { afterRestore } from '../src/apply/restore.js';
import { describeChange } from '../src/apply/change.js';
import { System } from '../src/apply/system.js';
import { kubeProxyJumpRules } from '../src/kubeproxy/iptables-jumps.js';
import { compileIptables } from '../src/backends/iptables/compile.js';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import { DEFAULT_OPTIONS } from '../src/model/options.js';
import { ROOT } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';

/** iptables-save text as apply reads a node's. */
const readSaved = (text: string) => readNodeRules(text, 'ipv4', 'iptables-save');
const bodies = (rs: ReturnType<typeof readSaved>, table: string, chain: string) => chainBodies(chainOf(rs, table, chain));

function exampleRules(nfacct = true) {
  const inv = loadInventory([join(ROOT, 'examples', 'cluster.yaml')], () => '');
  const model = buildModel(inv, { ...DEFAULT_OPTIONS, nfacct, clusterCIDRs: ['10.244.0.0/16'] }, []);
  return compileIptables(model);
}

// What iptables-save prints for kube-proxy's jumps on a node that already has them.
const SAVED_JUMPS = `*filter
:INPUT ACCEPT [10:600]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A INPUT -m physdev --physdev-is-bridged -j ACCEPT
-A FORWARD -j DOCKER-USER
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A DOCKER-USER -j RETURN
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-OLDOLDOLDOLDOLD1 - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A KUBE-SERVICES -d 10.96.9.9/32 -p tcp -m comment --comment "old/svc cluster IP" -m tcp --dport 80 -j KUBE-SVC-OLDOLDOLDOLDOLD1
COMMIT
`;

describe('apply payload', () => {
  it('inserts every jump rule on a bare node, at position 1 in kube-proxy list order', () => {
    const p = iptablesPayload(exampleRules(), readSaved(''));
    const inserts = p.text.split('\n').filter((l) => l.startsWith('-I '));
    expect(inserts).toHaveLength(14);
    expect(inserts[0]).toBe(
      '-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    );
    expect(inserts[10]).toBe('-I OUTPUT 1 -j KUBE-FIREWALL');
    expect(inserts.at(-1)).toBe('-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
    expect(p.insertedJumps).toEqual(kubeProxyJumpRules());
    // Inserted before COMMIT of their own table, after the chains they jump to are declared.
    const filter = p.text.slice(0, p.text.indexOf('COMMIT'));
    expect(filter).toContain(':KUBE-EXTERNAL-SERVICES - [0:0]');
    expect(filter.indexOf(':KUBE-EXTERNAL-SERVICES')).toBeLessThan(filter.indexOf('-I INPUT 1'));
  });

  it('inserts nothing that iptables-save already shows, however it spells it', () => {
    const p = iptablesPayload(exampleRules(), readSaved(SAVED_JUMPS));
    expect(p.text).not.toMatch(/^-I /m);
    expect(p.insertedJumps).toEqual([]);
  });

  it('creates a jump target that neither the node nor the payload has (kube-proxy -N), and records it', () => {
    const rs = exampleRules();
    const noFirewall = { ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.filter((c) => c.name !== 'KUBE-FIREWALL') })) };
    const p = iptablesPayload(noFirewall, readSaved(''));
    expect(p.text).toContain(':KUBE-FIREWALL - [0:0]');
    expect(p.createdChains).toEqual(['filter/KUBE-FIREWALL']);
    // An existing KUBE-FIREWALL (kubelet's) is neither declared (that would flush it) nor claimed.
    const again = iptablesPayload(noFirewall, readSaved(SAVED_JUMPS));
    expect(again.text).not.toContain(':KUBE-FIREWALL');
    expect(again.createdChains).toEqual([]);
  });

  it('plans nfacct counters that are missing, route_localnet, and the restore, each with its undo', () => {
    const plan = planIptablesApply({
      family: 'ipv4',
      desired: exampleRules(),
      current: readSaved(''),
      nfacct: ['ct_state_invalid_dropped_pkts'],
      routeLocalnet: '0',
    });
    expect(plan.steps.map((s) => [s.cmd, ...s.args].join(' '))).toEqual([
      'nfacct add localhost_nps_accepted_pkts',
      'sysctl -q -w net.ipv4.conf.all.route_localnet=1',
      'iptables-restore --noflush --wait',
    ]);
    expect(plan.steps.map((s) => (typeof s.undo === 'object' ? [s.undo.cmd, ...s.undo.args].join(' ') : s.undo))).toEqual([
      'nfacct del localhost_nps_accepted_pkts',
      'sysctl -q -w net.ipv4.conf.all.route_localnet=0',
      'iptables',
    ]);
    expect(plan.checks[0]!.args).toEqual(['--test', '--noflush', '--wait']);
    expect(plan.created).toEqual({
      nfacct: ['localhost_nps_accepted_pkts'],
      chains: ['filter/KUBE-FIREWALL'],
      sysctls: { 'net.ipv4.conf.all.route_localnet': '0' },
      iptablesNft: [],
    });
  });
});

describe('rollback payload', () => {
  const backup = readSaved(SAVED_JUMPS);

  it('puts back exactly the touched chains that changed, and nothing else', () => {
    const p = iptablesPayload(exampleRules(), backup);
    const after = afterRestore(backup, p.tables);
    const rb = iptablesRollbackPayload(backup, after, p.touched);
    expect(rb.problems).toEqual([]);
    expect(rb.text).toBeDefined();
    expect(rb.text).not.toContain('DOCKER-USER');
    expect(rb.text).not.toMatch(/^-[AD] (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /m);
    // Applying the rollback to the state after apply gives the backup back.
    const restored = afterRestore(after, rb.tables);
    for (const table of backup.tables)
      for (const chain of table.chains)
        expect(bodies(restored, table.name, chain.name), `${table.name} ${chain.name}`).toEqual(chainBodies(chain));
    for (const table of restored.tables)
      for (const c of table.chains) expect(chainOf(backup, table.name, c.name), `${table.name} ${c.name} should be gone`).toBeDefined();
  });

  it('deletes inserted jump rules with their saved text, and the chains apply created', () => {
    const empty = readSaved('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
    const p = iptablesPayload(exampleRules(), empty);
    const after = afterRestore(empty, p.tables);
    const rb = iptablesRollbackPayload(empty, after, p.touched);
    expect(rb.text).toMatch(/^-D INPUT -j KUBE-FIREWALL$/m);
    expect(rb.text).toMatch(/^-X KUBE-SERVICES$/m);
    expect(rb.text!.indexOf('-D INPUT')).toBeLessThan(rb.text!.indexOf('-X KUBE-FIREWALL'));
  });

  it('has nothing to do when nothing changed', () => {
    const p = iptablesPayload(exampleRules(), backup);
    expect(iptablesRollbackPayload(backup, backup, p.touched).text).toBeUndefined();
  });
});

describe('cleanup payload', () => {
  it("removes kube-proxy's chains and the jumps to them; leaves kubelet's KUBE-FIREWALL and everyone else's rules", () => {
    const now = readSaved(SAVED_JUMPS);
    const p = iptablesCleanupPayload(now, emptyCreated());
    expect(p.problems).toEqual([]);
    expect(p.removed).toContain('nat/KUBE-SVC-OLDOLDOLDOLDOLD1');
    expect(p.removed).not.toContain('filter/KUBE-FIREWALL');
    expect(p.text).not.toContain('DOCKER');
    expect(p.text).not.toContain('-D INPUT -j KUBE-FIREWALL');
    const after = afterRestore(now, p.tables);
    expect(after.tables.find((t) => t.name === 'filter')!.chains.map((c) => c.name)).toEqual([
      'INPUT',
      'FORWARD',
      'OUTPUT',
      'DOCKER-USER',
      'KUBE-FIREWALL',
    ]);
    expect(bodies(after, 'filter', 'INPUT')).toEqual(['-j KUBE-FIREWALL', '-m physdev --physdev-is-bridged -j ACCEPT']);
    expect(bodies(after, 'nat', 'POSTROUTING')).toEqual(['-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE']);
  });

  it('removes KUBE-FIREWALL too when the record says ktables made it', () => {
    const p = iptablesCleanupPayload(readSaved(SAVED_JUMPS), { ...emptyCreated(), chains: ['filter/KUBE-FIREWALL'] });
    expect(p.removed).toContain('filter/KUBE-FIREWALL');
    expect(p.text).toContain('-D OUTPUT -j KUBE-FIREWALL');
  });

  it('reports, and leaves alone, a foreign chain that jumps into a kube-proxy chain', () => {
    const text = SAVED_JUMPS.replace('-A DOCKER-USER -j RETURN', '-A DOCKER-USER -j KUBE-FORWARD');
    const p = iptablesCleanupPayload(readSaved(text), emptyCreated());
    expect(p.problems).toEqual(["filter DOCKER-USER jumps to KUBE-FORWARD, which is not kube-proxy's chain: left in place"]);
  });
});

describe('nftables and dry run', () => {
  it('replaces the kube-proxy table in one transaction, whether or not it exists', () => {
    expect(nftReplaceInput('ipv6', 'add table ip6 kube-proxy\n')).toBe(
      'add table ip6 kube-proxy\ndelete table ip6 kube-proxy\nadd table ip6 kube-proxy\n',
    );
  });

  it("says 'no change' when the node already has the rules, else what changes, through ktables diff", () => {
    const rules = exampleRules();
    const plan = planIptablesApply({
      family: 'ipv4',
      desired: rules,
      current: readSaved(''),
      nfacct: [],
      routeLocalnet: undefined,
    });
    const node = afterRestore(readSaved(''), plan.restore!);
    const again = planIptablesApply({ family: 'ipv4', desired: rules, current: node, nfacct: [], routeLocalnet: undefined });
    expect(
      describeChange({ backend: 'iptables', family: 'ipv4', current: node, after: afterRestore(node, again.restore!), plan: again }),
    ).toBe('no change: ipv4 iptables already hold these rules\n');
    const first = describeChange({ backend: 'iptables', family: 'ipv4', current: readSaved(''), after: node, plan });
    expect(first).toContain('ktables diff: now (iptables rules, ipv4) → after apply (iptables rules, ipv4)');
    expect(first).toMatch(
      /^\+ shop\/catalog:http \(TCP\): added: cluster IP 10\.96\.120\.15:80, 2 endpoints, session affinity ClientIP 10800s$/m,
    );
    expect(first).toMatch(/filter INPUT: 4 rules added/);
  });
});

describe('nftables dry run, through ktables diff', () => {
  const model = buildModel(
    loadInventory([join(ROOT, 'examples', 'cluster.yaml')], () => ''),
    DEFAULT_OPTIONS,
    [],
  );
  const desired = compileNftables(model);
  const payload = emitNftables(desired);
  const plan = planNftApply({ family: 'ipv4', payload });

  it('a node without the kube-proxy table: every service port is added', () => {
    const out = describeChange({ backend: 'nftables', family: 'ipv4', current: undefined, desired, plan });
    expect(out).toContain('ktables diff: now (nftables rules, ipv4) → after apply (nftables rules, ipv4)');
    expect(out).toMatch(/^\+ shop\/catalog:http \(TCP\): added: cluster IP 10\.96\.120\.15:80, 2 endpoints/m);
    expect(out).toContain('5 service ports differ (5 added, 0 removed, 0 changed), 0 unchanged');
  });

  it('the same rules, compiled or read back from text: no change', () => {
    expect(describeChange({ backend: 'nftables', family: 'ipv4', current: payload, desired, plan })).toBe(
      'no change: the kube-proxy table already holds these rules\n',
    );
    expect(describeChange({ backend: 'nftables', family: 'ipv4', current: payload, plan })).toBe(
      'no change: the kube-proxy table already holds these rules\n',
    );
  });
});

describe('system', () => {
  it('names every missing tool and its package', () => {
    expect(() => new System().requireTools(['ktables-no-such-tool', 'nft', 'no-such-either'])).toThrow(
      /ktables-no-such-tool, no-such-either not found/,
    );
  });

  it('shows a command as a shell would, with the netns and the size of its input', () => {
    expect(new System().describe('iptables-restore', ['--noflush'], { netns: 'n1', input: 'a\nb\n' })).toBe(
      'ip netns exec n1 iptables-restore --noflush < (2 lines)',
    );
    expect(new System().describe('sysctl', ['-w', "a b'c"])).toBe(`sysctl -w 'a b'\\''c'`);
  });
});

// Keeps the fixture honest: the saved text is what iptables-save prints for these jumps.
it('SAVED_JUMPS fixture parses', () => {
  expect(bodies(readSaved(SAVED_JUMPS), 'filter', 'INPUT')).toHaveLength(5);
  expect(readFileSync(join(ROOT, 'examples', 'cluster.yaml'), 'utf8')).toContain('kind: Service');
});

describe('apply --rules refuses a rule set cut short, naming the line (before touching anything)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ktables-cut-'));
  for (const [name, text, message] of [
    [
      'no-commit.rules',
      '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\n',
      /no-commit\.rules: line \d+: the text ends inside table nat \(no COMMIT\)/,
    ],
    ['dots.rules', '*nat\n:KUBE-SERVICES - [0:0]\n...\nCOMMIT\n', /dots\.rules: line 3: "\.\.\.": the text was cut here/],
    [
      'open.nft',
      'table ip kube-proxy {\n\tchain services {\n\t\tip daddr 10.0.0.1 drop\n',
      /open\.nft: line 3: the nft listing ends inside 2 open braces/,
    ],
  ] as const) {
    it(name, async () => {
      writeFileSync(join(dir, name), text);
      const r = await runCliAsync(['apply', '--dry-run', '--netns', 'ktables-no-such-netns', '--rules', join(dir, name)]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('apply loads only a complete rule set');
      expect(r.stdout).toBe('');
    });
  }
});
