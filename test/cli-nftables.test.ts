// The CLI with --proxy-mode nftables as a user runs it: compile, trace (compiled, or --rules
// with either nft spelling), and no way for an interface name to smuggle text into a rule.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';

const OVERALL = join(ROOT, 'fixtures', 'kube-proxy', 'nftables', 'TestOverallNFTablesRules');
const LISTING = join(ROOT, 'fixtures', 'nftables', '_nft-list', 'TestOverallNFTablesRules.nft-list');
const NODE = ['--node-ip', '192.168.0.2'];
const json = async (args: string[], cwd = OVERALL) => {
  const res = await runCliAsync(args, { cwd });
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  return JSON.parse(res.stdout) as {
    verdict: string;
    masquerade: boolean;
    endpoints: { address: string; probability: number }[];
    path: { line?: number; text: string }[];
  };
};

describe('ktables trace, nftables', () => {
  const args = [
    '--proxy-mode',
    'nftables',
    '--hostname-override',
    'test-node',
    ...NODE,
    '--cluster-cidr',
    '10.0.0.0/8',
    '--service-cluster-ip-range',
    '172.30.0.0/16',
    '--nodeport-addresses',
    '192.168.0.2/32',
    '--masquerade-mark',
    '0x4000',
  ];
  const packet = ['--src', '203.0.113.2', '--dst', '172.30.0.44', '--dport', '80', '--json'];

  it('traces the compiled rules, with line numbers into the compile output', async () => {
    const r = await json(['trace', ...args, 'manifests.yaml', ...packet]);
    expect(r.verdict).toBe('10.180.0.4:80, 10.180.0.5:80');
    expect(r.masquerade).toBe(true);
    expect(r.endpoints).toEqual([
      { address: '10.180.0.4:80', probability: 0.5, masquerade: true },
      { address: '10.180.0.5:80', probability: 0.5, masquerade: true },
    ]);
    const compiled = (await runCliAsync(['compile', ...args, 'manifests.yaml'], { cwd: OVERALL })).stdout.split('\n');
    for (const s of r.path.filter((x) => x.line !== undefined)) expect(compiled[s.line! - 1]).toContain(s.text);
  });

  it('traces --rules in the dump form and as `nft list ruleset` prints it, alike', async () => {
    const dump = await json(['trace', '--rules', 'expected.txt', ...NODE, ...packet]);
    const listed = await json(['trace', '--rules', LISTING, ...NODE, ...packet]);
    expect(listed.verdict).toBe(dump.verdict);
    expect(listed.endpoints).toEqual(dump.endpoints);
    const blocked = await json([
      'trace',
      '--rules',
      LISTING,
      ...NODE,
      '--src',
      '203.0.113.130',
      '--dst',
      '5.6.7.8',
      '--dport',
      '80',
      '--json',
    ]);
    expect(blocked.verdict).toBe('DROP');
  });

  it("picks the packet's family from a dual-stack node's listing", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-dual-'));
    const both = join(dir, 'both.nft');
    writeFileSync(
      both,
      readFileSync(join(ROOT, 'golden', 'nftables', 'ipv6-single-stack.nft'), 'utf8') + readFileSync(join(OVERALL, 'expected.txt'), 'utf8'),
    );
    expect(
      (
        await json([
          'trace',
          '--rules',
          both,
          '--node-ip',
          '2001:db8::5',
          '--src',
          '2001:db8::99',
          '--dst',
          '2001:db8:ee::1',
          '--dport',
          '80',
          '--json',
        ])
      ).verdict,
    ).toBe('[fd00:244::1:b]:8080, [fd00:244::a]:8080');
    expect(
      (await json(['trace', '--rules', both, ...NODE, '--src', '10.0.0.2', '--dst', '172.30.0.41', '--dport', '80', '--json'])).verdict,
    ).toBe('10.180.0.1:80');
  });

  it('prints a readable trace', async () => {
    const res = await runCliAsync(['trace', ...args, 'manifests.yaml', '--src', '10.0.0.2', '--dst', '172.30.0.46', '--dport', '80'], {
      cwd: OVERALL,
    });
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^verdict: +REJECT by ip kube-proxy reject-chain #1/m);
  });

  it('refuses --previous-rules, which is for iptables', async () => {
    const res = await runCliAsync(['trace', ...args, '--previous-rules', 'x', 'manifests.yaml', ...packet], { cwd: OVERALL });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/--previous-rules applies to --proxy-mode iptables/);
  });
});

describe('interface names never reach a rule unchecked', () => {
  it('refuses a bad name from a flag or from a KubeProxyConfiguration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-cfg-'));
    const cfg = join(dir, 'config.yaml');
    writeFileSync(
      cfg,
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\ndetectLocalMode: BridgeInterface\ndetectLocal:\n  bridgeInterface: "cbr0 accept ; add rule ip kube-proxy services drop"\n',
    );
    const fixture = join(ROOT, 'fixtures', 'nftables', 'bridge-interface-detector');
    const fromConfig = await runCliAsync(['compile', '--config', cfg, '--hostname-override', 'node-a', 'manifests.yaml'], { cwd: fixture });
    expect(fromConfig.status).toBe(2);
    expect(fromConfig.stdout).toBe('');
    expect(fromConfig.stderr).toMatch(/detectLocal.bridgeInterface: must be an interface name/);
    for (const bad of ['eth0:1', 'veth@if3', 'a b', 'x"y', 'waytoolonginterface']) {
      const res = await runCliAsync(
        [
          'compile',
          '--proxy-mode',
          'nftables',
          '--detect-local-mode',
          'InterfaceNamePrefix',
          '--pod-interface-name-prefix',
          bad,
          'manifests.yaml',
        ],
        { cwd: fixture },
      );
      expect(res.status, bad).toBe(2);
      expect(res.stdout).toBe('');
    }
  });
});
