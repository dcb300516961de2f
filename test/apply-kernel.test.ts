// apply and cleanup against the real kernel, each test in its own network namespace that
// already holds rules of "other software", which must come through untouched.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyRules } from '../src/apply/execute.js';
import { modelSource } from '../src/apply/sources.js';
import { System, type RunOptions, type RunResult } from '../src/apply/system.js';
import { compileIptables } from '../src/backends/iptables/compile.js';
import { SystemError } from '../src/errors.js';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import { DEFAULT_OPTIONS, type ProxyOptions } from '../src/model/options.js';
import { ROOT } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';
import { delNetns, hasTool, inNetns, kernelSupport, newNetns, saveOf, testStateDir, warnSkipped } from './helpers/kernel.js';

const kernel = kernelSupport();
warnSkipped('apply/cleanup kernel tests', kernel);

const EXAMPLE = join(ROOT, 'examples', 'cluster.yaml');
const IPV6 = join(ROOT, 'fixtures', 'iptables', 'ipv6-single-stack');
const work = mkdtempSync(join(tmpdir(), 'ktables-apply-'));

/** The example without the shop/catalog Service and its EndpointSlice. */
const WITHOUT_CATALOG = join(work, 'without-catalog.yaml');
writeFileSync(
  WITHOUT_CATALOG,
  readFileSync(EXAMPLE, 'utf8')
    .split(/^---$/m)
    .filter((doc) => !/name: catalog\b/.test(doc))
    .join('---'),
);

/** A rules file whose nat table loads and whose filter table the kernel refuses (DNAT in filter). */
const HALF_BAD = join(work, 'half-bad.rules');
writeFileSync(
  HALF_BAD,
  `*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SVC-HALFBADHALFBAD01 - [0:0]
-A KUBE-SERVICES -d 10.96.0.99/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-HALFBADHALFBAD01
-A KUBE-SVC-HALFBADHALFBAD01 -p tcp -m tcp -j DNAT --to-destination 10.244.9.9:80
COMMIT
*filter
:KUBE-SERVICES - [0:0]
-A KUBE-SERVICES -j DNAT --to-destination 1.2.3.4
COMMIT
`,
);

function exampleModel(overrides: Partial<ProxyOptions> = {}) {
  return buildModel(
    loadInventory([EXAMPLE], () => ''),
    { ...DEFAULT_OPTIONS, ...overrides },
    [],
  );
}

/** Rules of other software the namespace had before kube-proxy came. */
function seedForeignRules(ns: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--noflush'], {
    input: `*filter
:DOCKER-USER - [0:0]
-A INPUT -s 198.51.100.7/32 -j ACCEPT
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
COMMIT
*nat
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
`,
  });
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
    input: 'table inet other {\n  chain c {\n    type filter hook input priority 10; policy accept;\n  }\n}\n',
  });
}

interface NodeState {
  ipv4: string;
  ipv6: string;
  /** nftables tables other than iptables-nft's (those are compared through iptables-save). */
  nft: string;
  /** The tables and chains iptables-nft has in nftables: no empty leftovers either. */
  iptablesNft: string[];
  nfacct: string;
  routeLocalnet: string;
}

/** `nft list ruleset` split by table. */
function nftTables(ns: string): { header: string; text: string; iptables: boolean }[] {
  return inNetns(ns, 'nft', ['list', 'ruleset'])
    .split(/^(?=table )/m)
    .filter((t) => t.startsWith('table '))
    .map((text) => {
      const header = text.split(' {')[0]!;
      return { header, text, iptables: /^table ip6? (filter|nat|mangle|raw|security)$/.test(header) };
    });
}

/** `nfacct list`, or undefined where nfacct (the tool or the kernel side) is missing. */
function nfacctIn(ns: string): string | undefined {
  if (!hasTool('nfacct')) return undefined;
  try {
    return inNetns(ns, 'nfacct', ['list']);
  } catch {
    return undefined;
  }
}

function state(ns: string): NodeState {
  const tables = nftTables(ns);
  return {
    ipv4: saveOf(ns, 'ipv4'),
    ipv6: saveOf(ns, 'ipv6'),
    nft: tables
      .filter((t) => !t.iptables)
      .map((t) => t.text)
      .join(''),
    iptablesNft: tables
      .filter((t) => t.iptables)
      .flatMap((t) => [t.header, ...[...t.text.matchAll(/^\tchain (\S+) \{/gm)].map((m) => `${t.header} ${m[1]}`)])
      .sort(),
    nfacct: nfacctIn(ns) ?? '',
    routeLocalnet: inNetns(ns, 'sysctl', ['-n', 'net.ipv4.conf.all.route_localnet']).trim(),
  };
}

const natServiceChains = (save: string) => [...save.matchAll(/^:(KUBE-(?:SVC|SVL|SEP|EXT|FW)-\S+)/gm)].map((m) => m[1]!).sort();

describe.skipIf(!kernel.ok)('apply against the kernel', () => {
  let ns = '';
  let stateDir = '';
  beforeAll(() => {
    stateDir = testStateDir();
  });
  afterEach(() => delNetns(ns));
  const fresh = (seed = true) => {
    ns = newNetns('kta');
    if (seed) seedForeignRules(ns);
    return ns;
  };
  const apply = async (...args: string[]) => await runCliAsync(['apply', '--netns', ns, ...args]);

  it('programs the jump rules, the nfacct counters and route_localnet; re-apply changes nothing', async () => {
    fresh();
    const before = state(ns);
    const r = await apply(EXAMPLE);
    expect(r.stderr).toMatch(/applied iptables \(ipv4\) rules to network namespace/);
    expect(r.status).toBe(0);
    const once = state(ns);
    for (const jump of [
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      '-A OUTPUT -j KUBE-FIREWALL',
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ]) {
      expect(once.ipv4).toContain(jump);
    }
    // The foreign rules are where they were; kube-proxy's jumps went on top.
    expect(once.ipv4).toContain('-A INPUT -s 198.51.100.7/32 -j ACCEPT');
    expect(once.ipv4.indexOf('-j KUBE-FIREWALL')).toBeLessThan(once.ipv4.indexOf('-A INPUT -s 198.51.100.7/32'));
    expect(once.nft).toContain('table inet other');
    expect(once.iptablesNft).toContain('table ip nat PREROUTING');
    if (nfacctIn(ns) !== undefined) expect(once.nfacct).toContain('localhost_nps_accepted_pkts');
    else expect(r.stderr).toContain('nfacct is not available');
    expect(once.routeLocalnet).toBe('1');
    expect(before.routeLocalnet).toBe('0');

    expect((await apply(EXAMPLE)).status).toBe(0);
    expect(state(ns)).toEqual(once);
  });

  it('nftables mode: one transaction replaces the kube-proxy table; re-apply changes nothing', async () => {
    fresh();
    const r = await apply('--proxy-mode', 'nftables', EXAMPLE);
    expect(r.stderr).toContain('applied nftables (ipv4)');
    expect(r.status).toBe(0);
    const once = state(ns);
    expect(once.nft).toContain('table ip kube-proxy');
    expect(once.nft).toContain('table inet other');
    expect((await apply('--proxy-mode', 'nftables', EXAMPLE)).status).toBe(0);
    expect(state(ns)).toEqual(once);
  });

  it('ip6tables-restore for the IPv6 proxier', async () => {
    fresh();
    const r = await runCliAsync(
      ['apply', '--netns', ns, ...readFileSync(join(IPV6, 'args'), 'utf8').trim().split(/\s+/), 'manifests.yaml'],
      { cwd: IPV6 },
    );
    expect(r.stderr + r.stdout).toContain('applied iptables (ipv6)');
    const s = state(ns);
    expect(s.ipv6).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(natServiceChains(s.ipv6).length).toBeGreaterThan(0);
    expect(natServiceChains(s.ipv4)).toEqual([]);
  });

  it('deletes the stale chains of removed Services on the next apply (the current rules are --previous-rules)', async () => {
    fresh();
    expect((await apply(EXAMPLE)).status).toBe(0);
    const all = natServiceChains(state(ns).ipv4);
    expect((await apply(WITHOUT_CATALOG)).status).toBe(0);
    const left = natServiceChains(state(ns).ipv4);
    const wanted = natServiceChains(
      compileIptables(
        buildModel(
          loadInventory([WITHOUT_CATALOG], () => ''),
          DEFAULT_OPTIONS,
          [],
        ),
      )
        .tables.flatMap((t) => t.chains.map((c) => `:${c.name}`))
        .join('\n'),
    );
    expect(left).toEqual(wanted);
    expect(all.length).toBeGreaterThan(left.length);
  });

  it('--dry-run validates, shows the change, and changes nothing', async () => {
    fresh();
    const before = state(ns);
    const r = await apply('--dry-run', EXAMPLE);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\+ shop\/storefront:https \(TCP\): added/m);
    expect(r.stderr).toContain('was not changed');
    expect(state(ns)).toEqual(before);
    expect((await apply(EXAMPLE)).status).toBe(0);
    const applied = state(ns);
    expect((await apply('--dry-run', WITHOUT_CATALOG)).stdout).toMatch(/^- shop\/catalog:http \(TCP\): removed/m);
    expect((await apply('--dry-run', EXAMPLE)).stdout).toBe('no change: ipv4 iptables already hold these rules\n');
    // No kube-proxy table yet: every service port is added, as ktables diff says it.
    const nftFirst = (await apply('--dry-run', '--proxy-mode', 'nftables', EXAMPLE)).stdout;
    expect(nftFirst).toContain('ktables diff: now (nftables rules, ipv4) → after apply (nftables rules, ipv4)');
    expect(nftFirst).toMatch(/^\+ shop\/storefront:https \(TCP\): added/m);
    expect(state(ns)).toEqual(applied);
    expect((await apply('--proxy-mode', 'nftables', WITHOUT_CATALOG)).status).toBe(0);
    expect((await apply('--dry-run', '--proxy-mode', 'nftables', WITHOUT_CATALOG)).stdout).toBe(
      'no change: the kube-proxy table already holds these rules\n',
    );
    // Against the table `nft list` prints: only the Service that is new.
    const nftChange = (await apply('--dry-run', '--proxy-mode', 'nftables', EXAMPLE)).stdout;
    expect(nftChange).toMatch(/^\+ shop\/catalog:http \(TCP\): added/m);
    expect(nftChange).toContain('1 service port differs (1 added, 0 removed, 0 changed), 4 unchanged');
    expect(nftChange).toContain('+add rule ip kube-proxy service-N3ITGKYC-shop/catalog/tcp/http');
  });

  it('a restore the kernel refuses half-way (nat committed, filter not) is rolled back exactly', async () => {
    fresh();
    const first = await apply(EXAMPLE, '--verbose');
    expect(first.status).toBe(0);
    // --verbose ends with the time the external commands took (the bench's "ktables share").
    expect(first.stderr).toMatch(/ktables: \d+ commands took \d+ ms\n$/);
    const before = state(ns);
    const r = await apply('--rules', HALF_BAD, '--verbose');
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('RULE_APPEND failed'); // iptables-restore's own stderr
    expect(r.stderr).toContain('rolled back: network namespace');
    expect(r.stderr).toMatch(/\+ ip netns exec \S+ iptables-restore --noflush --wait/);
    expect(state(ns)).toEqual(before);
  });

  it('on a bare node too: the jump rules it inserted go again', async () => {
    fresh();
    const before = state(ns);
    const r = await apply('--rules', HALF_BAD);
    expect(r.status).toBe(3);
    expect(state(ns)).toEqual(before);
  });

  it('a step that fails after the restore committed: nfacct counters, route_localnet and rules all go back', async () => {
    fresh();
    const before = state(ns);
    // Lets every command run, then reports the restore as failed: the worst case, everything changed.
    class FailAfterRestore extends System {
      override async run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
        const r = await super.run(cmd, args, o);
        if (cmd === 'iptables-restore' && args[0] === '--noflush' && !this.failed) {
          this.failed = true;
          throw new SystemError('injected failure', 'after a successful restore');
        }
        return r;
      }
      failed = false;
    }
    const sys = new FailAfterRestore();
    await expect(applyRules(sys, { netns: ns }, modelSource(exampleModel(), 'iptables'))).rejects.toThrow(
      /injected failure[\s\S]*rolled back: network namespace \S+ is as it was before/,
    );
    expect(sys.failed).toBe(true);
    expect(state(ns)).toEqual(before);
  });

  it('the same for nftables: the previous kube-proxy table comes back', async () => {
    fresh();
    expect((await apply('--proxy-mode', 'nftables', WITHOUT_CATALOG)).status).toBe(0);
    const before = state(ns);
    class FailAfterNft extends System {
      override async run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
        const r = await super.run(cmd, args, o);
        if (cmd === 'nft' && args[0] === '-f' && !this.failed) {
          this.failed = true;
          throw new SystemError('injected failure');
        }
        return r;
      }
      failed = false;
    }
    await expect(applyRules(new FailAfterNft(), { netns: ns }, modelSource(exampleModel(), 'nftables'))).rejects.toThrow(/rolled back/);
    expect(state(ns)).toEqual(before);
  });

  it('cleanup leaves no trace: iptables (both families), nftables, nfacct counters, route_localnet', async () => {
    fresh();
    const before = state(ns);
    expect((await apply(EXAMPLE)).status).toBe(0);
    expect((await apply('--proxy-mode', 'nftables', EXAMPLE)).status).toBe(0);
    expect(
      (
        await runCliAsync(['apply', '--netns', ns, ...readFileSync(join(IPV6, 'args'), 'utf8').trim().split(/\s+/), 'manifests.yaml'], {
          cwd: IPV6,
        })
      ).status,
    ).toBe(0);
    expect(state(ns)).not.toEqual(before);
    const r = await runCliAsync(['cleanup', '--netns', ns]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('removed nftables table ip kube-proxy');
    expect(state(ns)).toEqual(before);
    // Nothing left to do the second time.
    expect((await runCliAsync(['cleanup', '--netns', ns])).stderr).toContain('nothing to remove');
  });

  it('cleanup refuses a corrupt record, naming it, and removes nothing', async () => {
    fresh();
    expect((await apply(EXAMPLE)).status).toBe(0);
    const record = join(stateDir, `netns-${ns}.json`);
    const text = readFileSync(record, 'utf8');
    writeFileSync(record, text.slice(0, text.length >> 1));
    const applied = state(ns);
    const r = await runCliAsync(['cleanup', '--netns', ns]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`${record}: the record of what ktables created is unreadable (not JSON`);
    expect(state(ns)).toEqual(applied);
    // Put right, cleanup removes everything again, KUBE-FIREWALL that ktables made included.
    writeFileSync(record, text);
    expect((await runCliAsync(['cleanup', '--netns', ns])).status).toBe(0);
    expect(state(ns).ipv4).not.toContain('KUBE-');
  });

  it('cleanup on a namespace that had no tables at all leaves none', async () => {
    fresh(false);
    const before = state(ns);
    expect((await apply(EXAMPLE)).status).toBe(0);
    expect((await runCliAsync(['cleanup', '--netns', ns])).status).toBe(0);
    expect(state(ns)).toEqual(before);
  });

  it('refuses clearly: a missing namespace, and a user who is not root', async () => {
    const r = await runCliAsync(['apply', '--netns', 'ktables-no-such-netns', EXAMPLE]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('no network namespace named ktables-no-such-netns');
    if (!hasTool('setpriv')) return;
    const res = execFileSync(
      'sh',
      ['-c', `setpriv --reuid=65534 --regid=65534 --clear-groups ${process.execPath} bin/ktables apply ${EXAMPLE} 2>&1; echo "exit $?"`],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(res).toContain('needs root');
    expect(res).toMatch(/exit 3\n$/);
  });
});
