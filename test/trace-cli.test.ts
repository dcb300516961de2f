// `ktables trace` as a user runs it (the built CLI): human output, --json, --rules, --all, and
// the errors a user can make.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kubeProxyCases } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';
import { fixturePath } from './trace-support.js';

const cases = kubeProxyCases('iptables');
const kp = (name: string) => cases.find((c) => c.name === name)!;
const OVERALL_NODE = ['--node-ip', '192.168.0.2', '--node-ip', '192.168.1.2', '--node-ip', '192.168.99.11'];

describe('ktables trace (CLI)', () => {
  it('answers conformance flows with --json, as the conformance runner calls it', async () => {
    const c = kp('TestLoadBalancer');
    // Every third flow: the conformance runner and trace-conformance.test.ts cover them all.
    for (const f of c.flows!.filter((_, i) => i % 3 === 0)) {
      const res = await runCliAsync(
        [
          'trace',
          ...c.args,
          'manifests.yaml',
          '--src',
          f.sourceIP,
          '--dst',
          f.destIP,
          '--dport',
          String(f.destPort),
          '--protocol',
          'TCP',
          '--json',
        ],
        { cwd: c.dir },
      );
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      const got = JSON.parse(res.stdout) as { verdict: string; masquerade: boolean };
      expect({ verdict: got.verdict, masquerade: got.masquerade }, f.name).toEqual({ verdict: f.output, masquerade: f.masq });
    }
  });

  it('prints the verdict, endpoints with percentages, masquerade and the path for people', async () => {
    const c = kp('TestExternalTrafficPolicyCluster');
    const res = await runCliAsync(
      ['trace', ...c.args, 'manifests.yaml', '--src', '203.0.113.2', '--dst', '192.168.0.2', '--dport', '3001'],
      { cwd: c.dir },
    );
    expect(res.status).toBe(0);
    const out = res.stdout;
    expect(out).toContain('packet:      TCP 203.0.113.2 -> 192.168.0.2:3001, from outside the node or a pod: enters at PREROUTING');
    expect(out).toContain('verdict:     DNAT to 10.180.0.1:80 (50%), 10.180.2.1:80 (50%)');
    expect(out).toMatch(/endpoints: +10\.180\.0\.1:80 +50% +masqueraded\n +10\.180\.2\.1:80 +50% +masqueraded/);
    expect(out).toContain("masquerade:  yes (source NAT to the node's address on the way out)");
    expect(out).toContain("PREROUTING nat PREROUTING #1 (added: kube-proxy's jump rule)");
    expect(out).toMatch(
      /PREROUTING nat KUBE-NODEPORTS #\d+ \(line \d+\)\n +-A KUBE-NODEPORTS -m comment --comment ns1\/svc1:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-/,
    );
    expect(out).toContain('random 50%: matched');
    expect(out).toContain('routing: 10.180.0.1 is not a local address: forwarded (FORWARD, then POSTROUTING)');
    expect(out).toContain('=> DNAT to 10.180.2.1:80 (50%), masqueraded');
  });

  it('gives the JSON shape: verdict, masquerade, endpoints with probability, path', async () => {
    const c = kp('TestExternalTrafficPolicyLocal');
    const res = await runCliAsync(
      ['trace', ...c.args, 'manifests.yaml', '--src', '10.0.0.2', '--dst', '172.30.0.41', '--dport', '80', '--json'],
      { cwd: c.dir },
    );
    expect(res.status).toBe(0);
    const j = JSON.parse(res.stdout);
    expect(j.verdict).toBe('10.180.0.1:80, 10.180.2.1:80');
    expect(j.masquerade).toBe(false);
    expect(j.endpoints).toEqual([
      { address: '10.180.0.1:80', probability: 0.5, masquerade: false },
      { address: '10.180.2.1:80', probability: 0.5, masquerade: false },
    ]);
    expect(j.entry).toBe('PREROUTING');
    expect(j.path[1]).toMatchObject({
      kind: 'rule',
      hook: 'PREROUTING',
      table: 'nat',
      chain: 'KUBE-SERVICES',
      line: expect.any(Number),
      text: expect.stringContaining('cluster IP'),
    });
    expect(j.branches).toHaveLength(2);
  });

  it("traces a node's iptables-save with --rules and --node-ip (iptables-save's spelling, its own jump rules)", async () => {
    const save = fixturePath('saves/TestOverallIPTablesRules.iptables-save');
    const res = await runCliAsync(['trace', '--rules', save, ...OVERALL_NODE, '--src', '203.0.113.2', '--dst', '5.6.7.8', '--dport', '80']);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('verdict:     DNAT to 10.180.0.3:80');
    expect(res.stdout).toContain('records the client in recent list KUBE-SEP-I77PXRDZVX7PMWMN');
    expect(res.stdout).toContain('PREROUTING nat PREROUTING #1 (line 58)');
    expect(res.stdout).not.toContain('added');
    const udp = await runCliAsync([
      'trace',
      '--rules',
      save,
      ...OVERALL_NODE,
      '--src',
      '10.0.0.2',
      '--dst',
      '172.30.0.41',
      '--dport',
      '80',
      '--protocol',
      'udp',
      '--json',
    ]);
    expect(JSON.parse(udp.stdout).verdict).toBe('');
  });

  it('reads an ip6tables-save', async () => {
    const res = await runCliAsync([
      'trace',
      '--rules',
      fixturePath('saves/synthetic-ipv6-overall.ip6tables-save'),
      '--node-ip',
      '2001:db8::1',
      '--src',
      '2001:db8:ffff::2',
      '--dst',
      '2001:db8::1',
      '--dport',
      '3003',
      '--json',
    ]);
    expect(res.stderr).toBe('');
    expect(JSON.parse(res.stdout)).toMatchObject({ verdict: '[fd00:10:180::3]:80', masquerade: true });
  });

  it('says when no --node-ip was given with --rules', async () => {
    const res = await runCliAsync([
      'trace',
      '--rules',
      fixturePath('saves/TestOverallIPTablesRules.iptables-save'),
      '--src',
      '203.0.113.2',
      '--dst',
      '192.168.0.2',
      '--dport',
      '3003',
    ]);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('no --node-ip given: only loopback addresses count as local');
  });

  it('--all: one table for every service port', async () => {
    const c = kp('TestExternalTrafficPolicyLocal');
    const res = await runCliAsync(['trace', '--all', ...c.args, 'manifests.yaml'], { cwd: c.dir });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(/^SERVICE +PROTO +DESTINATION +FROM +RESULT +MASQ$/);
    const row = (dest: string, from: string) => lines.find((l) => l.includes(dest) && l.includes(from));
    expect(row('NodePort 192.168.0.2:3001', 'external 203.0.113.2')).toMatch(/10\.180\.2\.1:80 +no$/);
    expect(row('NodePort 192.168.0.2:3001', 'pod 10.0.0.2')).toMatch(/10\.180\.0\.1:80 50%, 10\.180\.2\.1:80 50% +no$/);
    expect(row('NodePort 192.168.0.2:3001', 'node 192.168.0.2')).toMatch(/50% +yes$/);
    expect(row('NodePort 127.0.0.1:3001', 'localhost')).toMatch(/50% +yes$/);
    expect(row('LoadBalancer 1.2.3.4:80', 'external 203.0.113.2')).toMatch(/10\.180\.2\.1:80 +no$/);
    expect(row('external IP 192.168.99.11:80', 'external')).toBeDefined();
    expect(row('cluster IP 172.30.0.41:80', 'pod')).toBeDefined();

    const json = await runCliAsync(['trace', '--all', '--json', ...c.args, 'manifests.yaml'], { cwd: c.dir });
    const rows = JSON.parse(json.stdout).rows as { destination: string; from: string; verdict: string; masquerade: boolean }[];
    expect(rows.length).toBe(lines.length - 2);
    expect(rows.find((r) => r.destination === 'LoadBalancer 1.2.3.4:80' && r.from.startsWith('external'))).toMatchObject({
      verdict: '10.180.2.1:80',
      masquerade: false,
    });
  });

  it('--all shows health-check ports and the node-to-LB case the kernel lets through', async () => {
    const c = kp('TestNoEndpointsReject');
    const res = await runCliAsync(['trace', '--all', ...c.args, 'manifests.yaml'], { cwd: c.dir });
    expect(res.stdout).toMatch(/LoadBalancer 1\.2\.3\.4:80 +node 192\.168\.0\.2 +no rule \(passes\) +no/);
    expect(res.stdout).toMatch(/LoadBalancer 1\.2\.3\.4:80 +external 203\.0\.113\.2 +REJECT +no/);
    const hc = kp('TestHealthCheckNodePort');
    const out = (await runCliAsync(['trace', '--all', ...hc.args, 'manifests.yaml'], { cwd: hc.dir })).stdout;
    expect(out).toMatch(/health check 192\.168\.0\.2:30000 +external 203\.0\.113\.2 +ACCEPT +no/);
  });

  it('usage errors exit 2 with one clear line', async () => {
    const c = kp('TestLoadBalancer');
    const missing = await runCliAsync(['trace', ...c.args, 'manifests.yaml', '--src', '10.0.0.2', '--dst', '172.30.0.41'], { cwd: c.dir });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^ktables: (error: )?trace needs --dport \(or --all\)\n$/);
    const v6 = await runCliAsync(['trace', ...c.args, 'manifests.yaml', '--src', 'fd00::2', '--dst', 'fd00::1', '--dport', '80'], {
      cwd: c.dir,
    });
    expect(v6.status).toBe(2);
    expect(v6.stderr).toContain('--src fd00::2 is IPv6 but the rules are IPv4 (use --ip-family)');
    const both = await runCliAsync(
      ['trace', 'manifests.yaml', '--rules', 'x.rules', '--src', '10.0.0.2', '--dst', '172.30.0.41', '--dport', '80'],
      { cwd: c.dir },
    );
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('give either manifests to compile or --rules FILE, not both');
    const proto = await runCliAsync(
      ['trace', ...c.args, 'manifests.yaml', '--src', '10.0.0.2', '--dst', '172.30.0.41', '--dport', '80', '--protocol', 'icmp'],
      { cwd: c.dir },
    );
    expect(proto.status).toBe(2);
    expect(proto.stderr).toContain('--protocol must be TCP, UDP or SCTP');
    const port = await runCliAsync(
      ['trace', ...c.args, 'manifests.yaml', '--src', '10.0.0.2', '--dst', '172.30.0.41', '--dport', '70000'],
      { cwd: c.dir },
    );
    expect(port.status).toBe(2);
    expect(port.stderr).toContain('--dport must be a port number');
  });

  it('a rule it does not model on the path makes the answer conditional, naming the rule (exit 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-trace-'));
    const file = join(dir, 'node.rules');
    writeFileSync(file, '*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j CT --notrack\nCOMMIT\n');
    const res = await runCliAsync(['trace', '--rules', file, '--src', '10.0.0.2', '--dst', '10.1.0.1', '--dport', '80']);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain(
      'conditional: raw PREROUTING #1 (line 3) matches, but ktables does not model its target (-j CT --notrack)',
    );
  });
});
