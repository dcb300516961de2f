// kube-proxy's own nftables unit-test expectations (fixtures/kube-proxy/nftables): the dumps
// byte for byte through the CLI, and every packet flow through the tracer, both on the
// compiled rules and on kube-proxy's expected rule sets read back from their text.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNftables } from '../src/parse/nftables.js';
import { traceNftables } from '../src/trace/nftables.js';
import { KUBE_PROXY_FIXTURES, kubeProxyCases } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';
import { compileWithArgs, flowPacket } from './helpers/nftables.js';

const cases = kubeProxyCases('nftables');

describe('kube-proxy nftables conformance: dumps', () => {
  const dumps = cases.filter((c) => c.expected !== undefined);
  it('has the transcribed cases', async () => {
    expect(dumps.length).toBeGreaterThanOrEqual(6);
  });
  for (const c of dumps) {
    it(c.name, async () => {
      const res = await runCliAsync(['compile', ...c.args, 'manifests.yaml'], { cwd: c.dir });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout).toBe(c.expected);
    });
  }
});

describe('kube-proxy nftables conformance: partial cases', () => {
  const partial = cases.filter((c) => c.contains !== undefined || c.absent !== undefined);
  it('has the partial cases of v1.37', () => {
    expect(partial.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'nftables-1.37/TestLocalhostNodePortReject',
        'nftables-1.37/TestSyncProxyRulesTruncatesNoEndpointServiceComment',
      ]),
    );
  });
  for (const c of partial) {
    it(c.name, async () => {
      const res = await runCliAsync(['compile', ...c.args, 'manifests.yaml'], { cwd: c.dir });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      const out = new Set(res.stdout.split('\n'));
      for (const line of c.contains ?? []) expect(out.has(line), `whole output line: ${line}`).toBe(true);
      for (const text of c.absent ?? []) expect(res.stdout.includes(text), `must not occur: ${text}`).toBe(false);
    });
  }
});

describe('kube-proxy nftables conformance: every release folder runs', () => {
  it('has dumps for v1.35, v1.36 and v1.37', () => {
    for (const prefix of ['Test', 'nftables-1.36/', 'nftables-1.37/']) {
      expect(cases.filter((c) => c.name.startsWith(prefix) && c.expected !== undefined).length, prefix).toBeGreaterThanOrEqual(6);
    }
  });
});

describe('kube-proxy nftables conformance: packet flows', () => {
  const flowCases = cases.filter((c) => c.flows !== undefined);
  it('has the transcribed flow cases', async () => {
    expect(flowCases.length).toBeGreaterThanOrEqual(50);
    expect(flowCases.reduce((n, c) => n + c.flows!.length, 0)).toBeGreaterThanOrEqual(300);
  });
  for (const c of flowCases) {
    it(c.name, async () => {
      const compiled = compileWithArgs(c.dir, readFileSync(join(c.dir, 'args'), 'utf8'));
      // Through the text, as `trace --rules` would read the compile output.
      const rs = parseNftables(compiled.text);
      for (const f of c.flows!) {
        const r = traceNftables(rs, { family: compiled.family, addresses: compiled.nodeIPs }, flowPacket(f));
        expect({ flow: f.name, verdict: r.verdict, masq: r.masquerade }).toEqual({ flow: f.name, verdict: f.output, masq: f.masq });
      }
    });
  }
});

describe('tracing the expected rule sets', () => {
  // Every expected dump, and its `nft list ruleset` capture, traced for the packets the flow
  // cases send to the same Services: both spellings must give the same answers.
  const listings = join(KUBE_PROXY_FIXTURES, '..', 'nftables', '_nft-list');
  for (const file of readdirSync(listings).filter((f) => f.endsWith('.nft-list'))) {
    // `nftables-1.37@Case.nft-list` is the listing of the case nftables-1.37/Case.
    const name = file.replace(/\.nft-list$/, '').replace('@', '/');
    const c = cases.find((x) => x.name === name);
    it(name, async () => {
      expect(c?.expected, `no expected.txt for ${name}`).toBeDefined();
      const dump = parseNftables(c!.expected!);
      const listed = parseNftables(readFileSync(join(listings, file), 'utf8'));
      const node = { family: 'ipv4' as const, addresses: ['192.168.0.2', '192.168.1.2', '192.168.99.11', '2001:db8::1', '2001:db8:1::2'] };
      const packets = [
        ['10.0.0.2', '172.30.0.41', 80],
        ['203.0.113.2', '172.30.0.41', 80],
        ['10.180.0.1', '172.30.0.41', 80],
        ['10.0.0.2', '172.30.0.41', 81],
        ['10.0.0.2', '172.30.0.99', 80],
        ['203.0.113.2', '192.168.0.2', 3001],
        ['192.168.0.2', '192.168.0.2', 3001],
        ['203.0.113.2', '1.2.3.4', 80],
        ['10.0.0.2', '1.2.3.4', 80],
        ['203.0.113.2', '5.6.7.8', 80],
        ['203.0.113.130', '5.6.7.8', 80],
        ['10.0.0.2', '172.30.0.44', 80],
        ['203.0.113.2', '192.168.99.33', 80],
        ['10.0.0.2', '172.30.0.46', 80],
        ['10.0.0.2', '172.30.0.42', 8080],
        ['203.0.113.2', '192.168.1.2', 3003],
      ] as const;
      for (const [src, dst, dport] of packets) {
        const p = { src, dst, dport, protocol: 'tcp' as const };
        const a = traceNftables(dump, node, p);
        const b = traceNftables(listed, node, p);
        expect({ p, verdict: b.verdict, masq: b.masquerade }).toEqual({ p, verdict: a.verdict, masq: a.masquerade });
        expect(b.endpoints.map((e) => e.address)).toEqual(a.endpoints.map((e) => e.address));
      }
    });
  }
});
