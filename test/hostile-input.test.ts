// Hostile and unusual input through the CLI (issue 12): what kube-proxy would read is read the
// same way, what it would refuse is exit 2 with a located message, and nothing crashes.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';
import { ruleChecker } from './helpers/rule-check.js';

const example = join(ROOT, 'examples', 'cluster.yaml');
const configs = join(ROOT, 'fixtures', 'config');
const tmp = () => mkdtempSync(join(tmpdir(), 'ktables-hostile-'));
const SVC =
  'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  clusterIP: 10.96.0.10\n  ports: [{name: http, port: 80}]\n';

describe('stock KubeProxyConfigurations (kubeadm, kind, k3s, minikube)', () => {
  for (const [name, cidr] of [
    ['kubeadm', '10.244.0.0/16'],
    ['kind', '10.244.0.0/16'],
    ['minikube', '10.244.0.0/16'],
    ['k3s', '10.42.0.0/16'],
  ] as const) {
    it(`${name}: accepted, and the same rules as the equivalent flags`, async () => {
      const withConfig = await runCliAsync([
        'compile',
        '--hostname-override',
        'worker-1',
        '--config',
        join(configs, `${name}.conf`),
        example,
      ]);
      expect(withConfig.stderr).toBe('');
      expect(withConfig.status).toBe(0);
      const withFlags = await runCliAsync(['compile', '--hostname-override', 'worker-1', '--cluster-cidr', cidr, example]);
      expect(withConfig.stdout).toBe(withFlags.stdout);
    });
  }
});

describe('boolean flags read as kube-proxy reads them (strconv.ParseBool)', () => {
  const nfacctLines = async (args: string[]) => {
    const r = await runCliAsync(['compile', '--hostname-override', 'worker-1', ...args, example]);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter((l) => l.includes('--nfacct-name')).length;
  };
  it('every true and false spelling, the bare flag and --no-', async () => {
    const on = await nfacctLines([]);
    expect(on).toBeGreaterThan(0);
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(await nfacctLines([`--nfacct=${v}`]), v).toBe(on);
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(await nfacctLines([`--nfacct=${v}`]), v).toBe(0);
    expect(await nfacctLines(['--nfacct'])).toBe(on);
    expect(await nfacctLines(['--no-nfacct'])).toBe(0);
  });
  it('anything else is exit 2 echoing the value, escaped', async () => {
    for (const v of ['yes', 'maybe', 'tRUE', '', ' 1', 'on\nx']) {
      const r = await runCliAsync(['compile', `--iptables-random-fully=${v}`, example]);
      expect(r.status, v).toBe(2);
      expect(r.stderr).toContain(`--iptables-random-fully: invalid boolean value ${JSON.stringify(v)}`);
      expect(r.stdout).toBe('');
    }
  });
});

describe('feature gates', () => {
  it('a gate kube-proxy knows but ktables does not model is accepted, with a --verbose note', async () => {
    const r = await runCliAsync([
      'compile',
      '--hostname-override',
      'worker-1',
      '--feature-gates',
      'LoadBalancerIPMode=true,KubeProxyNFTablesLocalhostNodePorts=false',
      '--verbose',
      example,
    ]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('feature gate LoadBalancerIPMode=true does not change the rules ktables writes');
  });
  it('PreferSameTrafficDistribution takes every ParseBool spelling', async () => {
    const a = await runCliAsync([
      'compile',
      '--hostname-override',
      'worker-1',
      '--feature-gates',
      ' PreferSameTrafficDistribution = F ',
      example,
    ]);
    const b = await runCliAsync([
      'compile',
      '--hostname-override',
      'worker-1',
      '--feature-gates',
      'PreferSameTrafficDistribution=false',
      example,
    ]);
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });
  it('the config file refuses unknown gates too', async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'c.yaml'),
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nfeatureGates:\n  PreferSameNodeTraffic: true\n',
    );
    const r = await runCliAsync(['compile', '--config', join(dir, 'c.yaml'), example]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'c.yaml (line 4, column 3): KubeProxyConfiguration: featureGates.PreferSameNodeTraffic: unrecognized feature gate "PreferSameNodeTraffic"',
    );
  });
});

describe('input forms kube-proxy and the API server accept', () => {
  it('a %YAML 1.2 directive', async () => {
    const r = await runCliAsync(['compile', '--hostname-override', 'n', '-'], {
      input: `%YAML 1.2\n---\n${SVC}---\n%YAML 1.2\n---\n${SVC.replace('web', 'api').replace('0.10', '0.11')}`,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('"default/api:http has no endpoints"');
  });
  it('IPv4 octets with any number of leading zeros, read as decimal', async () => {
    const r = await runCliAsync(['compile', '--hostname-override', 'n', '-'], {
      input: SVC.replace('10.96.0.10', '0010.00096.0000.010').replace('ports:', 'externalIPs: [0172.30.0.20, 10.0180.00.17]\n  ports:'),
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('-d 10.96.0.10 --dport 80 -j REJECT');
    expect(r.stdout).toContain('-d 172.30.0.20 --dport 80 -j REJECT');
    expect(r.stdout).toContain('-d 10.180.0.17 --dport 80 -j REJECT');
  });
  it('a directory with a dangling link and a link loop: skipped with a note, the rest compiles', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'svc.yaml'), SVC);
    symlinkSync(join(dir, 'gone.yaml'), join(dir, 'dangling.yaml'));
    mkdirSync(join(dir, 'sub'));
    symlinkSync(dir, join(dir, 'sub', 'up'));
    symlinkSync(join(dir, 'self.yaml'), join(dir, 'self.yaml'));
    const r = await runCliAsync(['compile', '--hostname-override', 'n', '--verbose', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"default/web:http has no endpoints"');
    expect(r.stderr).toContain(`skipped ${JSON.stringify(join(dir, 'dangling.yaml'))}: a dangling symbolic link`);
    expect(r.stderr).toContain(`skipped ${JSON.stringify(join(dir, 'self.yaml'))}: a symbolic link loop`);
    expect(r.stderr).toContain(`skipped ${JSON.stringify(join(dir, 'sub', 'up'))}: a directory already read`);
  });
  it('--allow-empty: an empty cluster on purpose', async () => {
    const r = await runCliAsync(['compile', '--allow-empty', '-'], { input: '' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\*filter\n/);
  });
});

describe('limits: a bomb is exit 2 in well under a second of work, in every command', () => {
  const bomb = readFileSync(join(ROOT, 'fixtures', '_error_', 'yaml-alias-bomb', 'manifests.yaml'), 'utf8');
  const deep = `${'['.repeat(100000)}${']'.repeat(100000)}`;
  for (const [what, args] of [
    ['compile', ['compile', '-']],
    ['trace', ['trace', '-', '--src', '10.0.0.1', '--dst', '10.96.0.10', '--dport', '80']],
    ['diff', ['diff', '-', join(ROOT, 'examples', 'cluster.yaml')]],
  ] as const) {
    it(what, async () => {
      for (const input of [bomb, deep]) {
        const t = Date.now();
        const r = await runCliAsync([...args], { input });
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/<stdin> document 1 .*(aliases are expanded|nested deeper than 64 levels)/);
        expect(r.stderr).not.toContain('internal error');
        expect(Date.now() - t).toBeLessThan(15000); // CLI start-up included, on a loaded machine
      }
    });
  }
  it('-o is left untouched when the input is refused', async () => {
    const dir = tmp();
    const out = join(dir, 'rules');
    writeFileSync(out, 'previous rules\n');
    for (const input of [bomb, deep, '', 'apiVersion: v1\0']) {
      const r = await runCliAsync(['compile', '-o', out, '-'], { input });
      expect(r.status).toBe(2);
      expect(readFileSync(out, 'utf8')).toBe('previous rules\n');
    }
  });
  it('/dev/zero stops at the first NUL; an endless text pipe at the size limit', async () => {
    const z = await runCliAsync(['compile', '/dev/zero']);
    expect(z.status).toBe(2);
    expect(z.stderr).toContain('/dev/zero: input holds a NUL byte at offset 0');
    const big = `# ${'x'.repeat(3 << 20)}\n`;
    const res = spawnLimited(['compile', '-'], big, '1048576');
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('<stdin>: input is larger than the 1 MB limit');
  });
});

import { spawnSync } from 'node:child_process';
function spawnLimited(args: string[], input: string, limit: string) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'ktables'), ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, KTABLES_MAX_INPUT_BYTES: limit },
  });
  return { status: r.status, stderr: r.stderr };
}

describe('trace packet interfaces', () => {
  it('--in-interface with a newline is exit 2, echoed escaped', async () => {
    const r = await runCliAsync([
      'trace',
      example,
      '--src',
      '10.0.0.1',
      '--dst',
      '10.96.0.10',
      '--dport',
      '80',
      '--in-interface',
      'eth0\n-A X',
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--in-interface: "eth0\\n-A X" is not a valid interface name');
  });
});

describe('interface names in nftables rules: quoted where nft needs it', () => {
  const checker = ruleChecker();
  afterAll(() => typeof checker !== 'string' && checker.close());
  const compileNft = (args: string[]) =>
    runCliAsync(['compile', '--hostname-override', 'worker-1', '--proxy-mode', 'nftables', ...args, example]);
  for (const [args, expected] of [
    [['--detect-local-mode', 'InterfaceNamePrefix', '--pod-interface-name-prefix=1abc'], 'iifname != "1abc*"'],
    [['--detect-local-mode', 'InterfaceNamePrefix', '--pod-interface-name-prefix=-j'], 'iifname != "-j*"'],
    [['--detect-local-mode', 'InterfaceNamePrefix', '--pod-interface-name-prefix=veth'], 'iifname != veth*'],
    [['--detect-local-mode', 'BridgeInterface', '--pod-bridge-interface=counter'], 'iifname != "counter"'],
    [['--detect-local-mode', 'BridgeInterface', '--pod-bridge-interface=a#b'], 'iifname != "a#b"'],
    [['--detect-local-mode', 'BridgeInterface', '--pod-bridge-interface=cbr0'], 'iifname != cbr0'],
  ] as const) {
    it(`${args.join(' ')} -> ${expected}`, async () => {
      const r = await compileNft([...args]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(expected);
      if (typeof checker === 'string') return void console.warn(`nft -c skipped: ${checker}`);
      const c = checker.nft(r.stdout);
      expect(c.ok, c.stderr).toBe(true);
    });
  }
  it('iptables takes the same names as they are', async () => {
    const r = await runCliAsync([
      'compile',
      '--hostname-override',
      'worker-1',
      '--detect-local-mode',
      'InterfaceNamePrefix',
      '--pod-interface-name-prefix=-j',
      example,
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('-i -j+');
    if (typeof checker === 'string') return;
    const c = checker.iptables(r.stdout);
    expect(c.ok, c.stderr).toBe(true);
  });
});
