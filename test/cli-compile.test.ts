// The compile command as a user drives it: paths, stdin, -o, errors, --verbose, --config.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';

const example = join(ROOT, 'examples', 'cluster.yaml');

describe('ktables compile', () => {
  it('compiles the bundled example with no flags', async () => {
    const res = await runCliAsync(['compile', example]);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^\*filter\n/);
    expect(res.stdout).toContain('-A KUBE-SERVICES -m comment --comment "shop/catalog:http cluster IP"');
    expect(res.stdout.endsWith('COMMIT\n')).toBe(true);
  });

  it('a single-valued flag given twice: the last one wins, as with kube-proxy (pflag)', async () => {
    const once = await runCliAsync(['compile', '--hostname-override', 'worker-1', '--nfacct=true', example]);
    const twice = await runCliAsync([
      'compile',
      '--hostname-override',
      'node-x',
      '--hostname-override',
      'worker-1',
      '--nfacct=false',
      '--nfacct=true',
      example,
    ]);
    expect(twice.stderr).toBe('');
    expect(twice.status).toBe(0);
    expect(twice.stdout).toBe(once.stdout);
  });

  it('reads stdin with - and when no path is given', async () => {
    const text = readFileSync(example, 'utf8');
    const a = await runCliAsync(['compile', '-'], { input: text });
    const b = await runCliAsync(['compile'], { input: text });
    expect(a.status).toBe(0);
    expect(a.stdout).toBe((await runCliAsync(['compile', example])).stdout);
    expect(b.stdout).toBe(a.stdout);
  });

  it('reads directories recursively, YAML and JSON, in a stable order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-'));
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'j', namespace: 'x' },
      spec: { clusterIP: '10.96.9.9', ports: [{ name: 'p', port: 80 }] },
    };
    writeFileSync(join(dir, 'svc.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [svc] }));
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const res = await runCliAsync(['compile', '--hostname-override', 'n', dir]);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('"x/j:p has no endpoints"');
  });

  it('writes -o atomically and leaves an existing file untouched on bad input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-'));
    const out = join(dir, 'rules.txt');
    expect((await runCliAsync(['compile', example, '-o', out])).status).toBe(0);
    const good = readFileSync(out, 'utf8');
    expect(good).toBe((await runCliAsync(['compile', example])).stdout);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Service\nmetadata: {name: "x y"}\nspec: {clusterIP: 10.0.0.1}\n');
    const res = await runCliAsync(['compile', example, bad, '-o', out]);
    expect(res.status).toBe(2);
    expect(res.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(good);
    expect(existsSync(join(dir, 'nope.txt'))).toBe(false);
    const fresh = join(dir, 'fresh.txt');
    expect((await runCliAsync(['compile', bad, '-o', fresh])).status).toBe(2);
    expect(existsSync(fresh)).toBe(false);
  });

  it('reports a missing file without a stack trace', async () => {
    const res = await runCliAsync(['compile', 'no/such/file.yaml']);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('no/such/file.yaml: cannot read: ENOENT');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('says what it skipped and assumed with --verbose', async () => {
    const res = await runCliAsync(['compile', '--verbose', join(ROOT, 'fixtures', 'iptables', 'skipped-services', 'manifests.yaml')]);
    expect(res.status).toBe(0);
    expect(res.stderr).toContain('skipped Service db/headless');
    expect(res.stderr).toContain('service.kubernetes.io/service-proxy-name');
    expect(res.stderr).toContain('ExternalName');
    expect(res.stderr).toMatch(/node name: \S+ \(this machine's hostname; set --hostname-override\)/);
  });

  it('takes settings from --config, and flags win over it', async () => {
    const cfg = join(ROOT, 'examples', 'kube-proxy-config.yaml');
    const withCfg = await runCliAsync(['compile', '--config', cfg, example]);
    expect(withCfg.status).toBe(0);
    expect(withCfg.stdout).toContain('! -s 10.244.0.0/16 -j KUBE-MARK-MASQ');
    const override = await runCliAsync(['compile', '--config', cfg, '--cluster-cidr', '10.0.0.0/8', example]);
    expect(override.stdout).toContain('! -s 10.0.0.0/8 -j KUBE-MARK-MASQ');
  });

  it('formats the mark as kube-proxy does (%#08x of 1<<bit)', async () => {
    expect((await runCliAsync(['compile', example])).stdout).toContain('--or-mark 0x00004000');
    expect((await runCliAsync(['compile', '--iptables-masquerade-bit', '5', example])).stdout).toContain('--or-mark 0x00000020');
  });

  it('deletes stale service chains found in --previous-rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-'));
    const before = join(dir, 'before.rules');
    writeFileSync(
      before,
      (
        await runCliAsync([
          'compile',
          '--hostname-override',
          'node-a',
          join(ROOT, 'fixtures', 'iptables', 'session-affinity', 'manifests.yaml'),
        ])
      ).stdout,
    );
    const res = await runCliAsync(['compile', '--hostname-override', 'node-a', '--previous-rules', before, example]);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^-X KUBE-SVC-25FJTMN2OLOPNGWS$/m);
    expect(res.stdout).toMatch(/^-X KUBE-SEP-3XTNGF3UTFVH62PB$/m);
    expect(res.stdout).toMatch(/^:KUBE-SVC-25FJTMN2OLOPNGWS - \[0:0\]$/m);
  });

  it('rejects bad flags clearly', async () => {
    for (const args of [
      ['--node-ip', '1.2.3'],
      ['--masquerade-mark', '0x4000"'],
      ['--pod-bridge-interface', 'br 0', '--detect-local-mode', 'BridgeInterface'],
      ['--proxy-mode', 'ipvs'],
    ]) {
      const res = await runCliAsync(['compile', ...args, example]);
      expect(res.status, args.join(' ')).toBe(2);
      expect(res.stdout).toBe('');
    }
  });
});
