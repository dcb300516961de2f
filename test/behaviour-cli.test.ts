// `ktables diff --behaviour` as a user runs it: the done-when checks on the bundled
// example, the side flags, rule files against manifests, the formats and exit codes.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliAsync } from './helpers/cli.js';

const EX = 'examples/cluster.yaml';
const MODES = ['--old-proxy-mode', 'iptables', '--new-proxy-mode', 'nftables'];

interface Json {
  old: { proxyMode: string; kubeProxyVersion: string | null };
  new: { proxyMode: string; kubeProxyVersion: string | null };
  services: {
    service: string;
    protocol: string;
    changes: {
      entry: string;
      client: string;
      old: { verdict: string; masquerade: boolean };
      new: { verdict: string; masquerade: boolean };
      why: { id: string; keep: string | null } | null;
    }[];
  }[];
  unchanged: number;
}
const json = async (args: string[]) => {
  const r = await runCliAsync(['diff', '--behaviour', ...args, '--format', 'json']);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Json;
};
const flat = (j: Json) =>
  j.services.flatMap((s) =>
    s.changes.map((c) => ({
      service: s.service,
      entry: c.entry,
      client: c.client,
      old: c.old.verdict,
      new: c.new.verdict,
      why: c.why?.id ?? null,
    })),
  );

describe('ktables diff --behaviour', () => {
  it('iptables -> nftables on the example: exactly the documented differences that apply, with reasons', async () => {
    const j = await json([EX, EX, ...MODES]);
    expect(j.old).toMatchObject({ proxyMode: 'iptables', kubeProxyVersion: null });
    expect(j.new).toMatchObject({ proxyMode: 'nftables', kubeProxyVersion: null });
    expect(flat(j)).toEqual([
      {
        service: 'shop/admin:http',
        entry: 'NodePort 127.0.0.1:30800',
        client: 'localhost',
        old: 'REJECT',
        new: '',
        why: 'localhost-nodeports',
      },
      {
        service: 'shop/storefront:https',
        entry: 'NodePort 127.0.0.1:30443',
        client: 'localhost',
        old: '10.244.1.30:8443, 10.244.2.31:8443',
        new: '',
        why: 'localhost-nodeports',
      },
      {
        service: 'shop/storefront:https',
        entry: 'health check 172.18.0.3:32456',
        client: 'external 203.0.113.2',
        old: 'ACCEPT',
        new: '',
        why: 'health-check-accept',
      },
    ]);
    expect(j.unchanged).toBe(25);
  });

  it('text: each change with old, new, why, its source and the flag that keeps the old behaviour', async () => {
    const r = await runCliAsync(['diff', '--behaviour', EX, EX, ...MODES, '--exit-code']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      '  NodePort 127.0.0.1:30800 from localhost\n    old: REJECT\n    new: not handled (delivered to the node)\n    why: nftables mode does not accept NodePort connections on 127.0.0.1',
    );
    expect(r.stdout).toContain('keep the old behaviour: no flag does');
    expect(r.stdout).toContain(
      '3 differences in 2 service ports (3 explained by documented kube-proxy differences, 0 not); 25 packets behave the same',
    );
  });

  it('names the flag that keeps the old behaviour: NodePorts on a second node address', async () => {
    const node = ['--node-ip', '172.18.0.3', '--node-ip', '10.1.0.5'];
    const j = await json([EX, EX, ...MODES, ...node]);
    const second = j.services.flatMap((s) => s.changes).filter((c) => c.entry.startsWith('NodePort 10.1.0.5:'));
    expect(second.length).toBe(6); // two NodePort services, three clients each
    for (const c of second)
      expect(c.why).toMatchObject({ id: 'nodeport-addresses-default', keep: expect.stringContaining('--nodeport-addresses 0.0.0.0/0') });
    // ... and the flag does keep it: only the localhost and health-check differences remain.
    const kept = await json([EX, EX, ...MODES, ...node, '--new-nodeport-addresses', '0.0.0.0/0']);
    expect(flat(kept).map((c) => c.why)).toEqual(['localhost-nodeports', 'localhost-nodeports', 'health-check-accept']);
  });

  it('nftables -> iptables: the same differences the other way round, with the iptables flags', async () => {
    const j = await json([EX, EX, '--old-proxy-mode', 'nftables', '--new-proxy-mode', 'iptables']);
    expect(flat(j).map((c) => [c.old, c.new, c.why])).toEqual([
      ['', 'REJECT', 'localhost-nodeports'],
      ['', '10.244.1.30:8443, 10.244.2.31:8443', 'localhost-nodeports'],
      ['', 'ACCEPT', 'health-check-accept'],
    ]);
    expect(j.services[0]!.changes[0]!.why!.keep).toBe('--iptables-localhost-nodeports=false on the iptables side');
  });

  it('same cluster, same mode: no difference, exit 0 with --exit-code', async () => {
    const r = await runCliAsync(['diff', '--behaviour', EX, EX, '--proxy-mode', 'nftables', '--exit-code']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('no difference in behaviour (26 packets traced on both sides)');
  });

  it('a change that is no mode difference is reported as not documented (--new-masquerade-all)', async () => {
    const j = await json([EX, EX, '--new-masquerade-all']);
    const changes = j.services.flatMap((s) => s.changes);
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) {
      expect(c.why).toBeNull();
      expect([c.old.masquerade, c.new.masquerade]).toEqual([false, true]);
    }
  });

  it('--old-kube-proxy-version / --new-kube-proxy-version: no change between releases in nftables mode, or a clear refusal until this build has --kube-proxy-version', async () => {
    const has = (await runCliAsync(['compile', '--help'])).stdout.includes('--kube-proxy-version');
    const r = await runCliAsync([
      'diff',
      '--behaviour',
      EX,
      EX,
      '--proxy-mode',
      'nftables',
      '--old-kube-proxy-version',
      '1.35',
      '--new-kube-proxy-version',
      '1.37',
      '--format',
      'json',
      '--exit-code',
    ]);
    if (has) {
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout) as Json;
      expect([j.old.kubeProxyVersion, j.new.kubeProxyVersion, j.services]).toEqual(['1.35', '1.37', []]);
    } else {
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('--old-kube-proxy-version: this ktables has no --kube-proxy-version yet');
    }
  });

  it("a rule file on one side (a compile output, either mode) against manifests: the file's own entry points count", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-behaviour-'));
    const ipt = join(dir, 'ex.rules');
    writeFileSync(ipt, (await runCliAsync(['compile', EX])).stdout);
    const nft = join(dir, 'ex.nft');
    writeFileSync(nft, (await runCliAsync(['compile', '--proxy-mode', 'nftables', EX])).stdout);
    const expected = ['localhost-nodeports', 'localhost-nodeports', 'health-check-accept'];
    const a = await json([ipt, EX, '--new-proxy-mode', 'nftables']);
    expect(a.old.proxyMode).toBe('iptables');
    expect(flat(a).map((c) => c.why)).toEqual(expected);
    expect(flat(await json([EX, nft])).map((c) => c.why)).toEqual(expected);
    expect((await json([ipt, EX])).services).toEqual([]);
    // Manifests on stdin.
    const r = await runCliAsync(['diff', '--behaviour', nft, '-', '--format', 'json'], { input: readFileSync(EX, 'utf8') });
    expect(flat(JSON.parse(r.stdout) as Json).map((c) => [c.old, c.why])).toEqual([
      ['', 'localhost-nodeports'],
      ['', 'localhost-nodeports'],
      ['', 'health-check-accept'],
    ]);
  });

  it('markdown: a table per changed service port and the reasons once, with sources', async () => {
    const r = await runCliAsync(['diff', '--behaviour', EX, EX, ...MODES, '--format', 'markdown']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('| entry | client | old | new | why |');
    expect(r.stdout).toContain(
      '| NodePort 127.0.0.1:30800 | localhost | REJECT | not handled (delivered to the node) | [1] localhost-nodeports |',
    );
    expect(r.stdout).toContain('#### Why');
    expect(r.stdout.match(/^\d\. \*\*/gm)).toHaveLength(2);
  });

  it('trouble is exit 2 with one message: two rule files, a mode that contradicts the file, stdin twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-behaviour-'));
    const ipt = join(dir, 'ex.rules');
    writeFileSync(ipt, (await runCliAsync(['compile', EX])).stdout);
    for (const [args, msg] of [
      [[ipt, ipt], '--behaviour needs manifests on at least one side'],
      [[ipt, EX, '--old-proxy-mode', 'nftables'], 'holds iptables rules but --old-proxy-mode is nftables'],
      [['-', '-'], 'only one side can be read from stdin'],
      [[EX, EX, '--stat'], '--stat counts rules'],
    ] as const) {
      const r = await runCliAsync(['diff', '--behaviour', ...args, '--exit-code']);
      expect(r.status, msg).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(msg);
    }
    // Without --behaviour a side flag would silently do nothing.
    for (const [args, msg] of [
      [[EX, EX, '--new-proxy-mode', 'nftables'], '--new-proxy-mode sets one side of a behaviour diff: add --behaviour'],
    ] as const) {
      const r = await runCliAsync(['diff', ...args]);
      expect(r.status, msg).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(msg);
    }
  });
});
