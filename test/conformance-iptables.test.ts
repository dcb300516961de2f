// kube-proxy's own iptables unit-test expectations, byte for byte (fixtures/kube-proxy/iptables).
import { describe, expect, it } from 'vitest';
import { kubeProxyCases } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';

describe('kube-proxy iptables conformance', () => {
  const cases = kubeProxyCases('iptables').filter((c) => c.expected !== undefined);
  it('has the transcribed cases', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(3);
  });
  for (const c of cases) {
    it(c.name, async () => {
      const res = await runCliAsync(['compile', ...c.args, 'manifests.yaml'], { cwd: c.dir });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout).toBe(c.expected);
    });
  }
});
