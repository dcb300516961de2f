// `ktables diff` across kube-proxy releases: shapes differ, meaning does not. The golden cases
// (fixtures/diff/*release*) pin the output; these check the release detection and that a real
// difference across releases is still one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRelease, detectIptablesRelease, releasesDiffer } from '../src/kubeproxy/detect.js';
import { runCliAsync } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ktables-diff-release-'));

async function compile(name: string, args: string[]): Promise<string> {
  const file = join(dir, name);
  const r = await runCliAsync(['compile', 'examples/cluster.yaml', '--cluster-cidr', '10.244.0.0/16', ...args, '-o', file]);
  expect(r.stderr).toBe('');
  return file;
}

describe('release detection', () => {
  it('reads iptables releases from their nfacct counters', () => {
    expect(detectIptablesRelease('-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n')).toBe('<1.30');
    expect(
      detectIptablesRelease(
        '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP\n',
      ),
    ).toBe('1.30+');
    expect(detectIptablesRelease('-m nfacct --nfacct-name localhost_nps_accepted_pkts')).toBe('1.31+');
    expect(detectIptablesRelease('*nat\nCOMMIT\n')).toBeUndefined();
  });
  it('tells releases apart only where their shapes can', () => {
    expect(releasesDiffer('1.35', '1.37')).toBe(true);
    expect(releasesDiffer('1.36', '1.36+')).toBe(false);
    expect(releasesDiffer('1.30+', '1.31+')).toBe(false);
    expect(releasesDiffer('<1.30', '1.31+')).toBe(true);
    expect(describeRelease('1.36+')).toBe('v1.36 or later');
  });
});

describe('diff across releases', () => {
  for (const mode of ['iptables', 'nftables'] as const) {
    const [oldV, newV] = mode === 'iptables' ? ['1.29', '1.37'] : ['1.35', '1.37'];
    it(`${mode} ${oldV} → ${newV}: shape only, one note, exit 0`, async () => {
      const a = await compile(`${mode}-${oldV}`, ['--proxy-mode', mode, '--kube-proxy-version', oldV]);
      const b = await compile(`${mode}-${newV}`, ['--proxy-mode', mode, '--kube-proxy-version', newV]);
      const r = await runCliAsync(['diff', a, b, '--exit-code', '--format', 'json']);
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.identical).toBe(true);
      expect(j.services).toEqual([]);
      expect(j.notes.new.filter((n: string) => n.startsWith('kube-proxy '))).toHaveLength(1);
      expect(j.releases.shapeOnlyServicePorts).toBeGreaterThan(0);
    });
  }

  it('nftables: a changed masquerade mark across releases is still a difference', async () => {
    const a = await compile('mark-1.35', ['--proxy-mode', 'nftables', '--kube-proxy-version', '1.35']);
    const b = await compile('mark-1.37', ['--proxy-mode', 'nftables', '--kube-proxy-version', '1.37', '--iptables-masquerade-bit', '15']);
    const r = await runCliAsync(['diff', a, b, '--exit-code', '--stat']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('rules on one side');
    expect(r.stdout).toContain('(node-wide)');
  });

  it('a release note is not given for sides of one release', async () => {
    const a = await compile('same-a', ['--proxy-mode', 'nftables', '--kube-proxy-version', '1.37']);
    const r = await runCliAsync(['diff', a, a]);
    expect(r.stdout).not.toContain('rules on one side');
  });
});
