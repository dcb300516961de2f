// ktables' own trace fixtures (fixtures/trace/*/case.json): flows the conformance cases do not
// cover — kernel-verified lab probes, real iptables-save / ip6tables-save dumps, IPv6, session
// affinity, interface-based local detection, and where the kernel and kube-proxy's test tracer
// disagree. Each flow is traced on every rule source the case names.
import { describe, expect, it } from 'vitest';
import { compileDir, fixturePath, flowPacket, rulesTracer, traceCases, type TraceFlow } from './trace-support.js';
import type { IptablesTracer } from '../src/trace/iptables.js';

function check(tracer: IptablesTracer, f: TraceFlow, label: string): void {
  if (f.error) {
    expect(() => tracer.trace(flowPacket(f)), label).toThrow(f.error);
    return;
  }
  const r = tracer.trace(flowPacket(f));
  expect({ verdict: r.verdict, masquerade: r.masquerade }, label).toEqual({ verdict: f.output, masquerade: f.masq });
  if (f.entry) expect(r.entry, label).toBe(f.entry);
  if (f.endpoints) {
    expect(
      r.endpoints.map((e) => e.address),
      label,
    ).toEqual(Object.keys(f.endpoints));
    for (const e of r.endpoints) expect(e.probability, `${label}: ${e.address}`).toBeCloseTo(f.endpoints[e.address]!, 8);
  }
  if (f.endpointMasq) {
    expect(Object.fromEntries(r.endpoints.map((e) => [e.address, e.masquerade])), label).toEqual(f.endpointMasq);
  }
  if (f.recent) expect([...new Set(r.branches.flatMap((b) => b.recent))], label).toEqual(f.recent);
}

const cases = traceCases();

describe('trace fixtures', () => {
  it('are all there', () => {
    expect(cases.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'affinity',
        'bridge-detector',
        'hostnetwork-endpoint',
        'ipv6-overall',
        'kernel-vs-test-tracer',
        'lab-overall',
        'prefix-detector',
      ]),
    );
  });
  for (const c of cases) {
    describe(c.name, () => {
      const sources: [string, () => IptablesTracer][] = [];
      if (c.compile) {
        let compiled: IptablesTracer | undefined;
        sources.push(['ktables compile', () => (compiled ??= compileDir(fixturePath(c.compile!)).tracer)]);
      }
      for (const file of c.rules ?? []) {
        let t: IptablesTracer | undefined;
        sources.push([`--rules ${file}`, () => (t ??= rulesTracer(fixturePath(file), c.family ?? 'ipv4', c.nodeIPs ?? []))]);
      }
      it('names a rule source', () => expect(sources.length).toBeGreaterThan(0));
      for (const f of c.flows) {
        it(f.name, () => {
          for (const [label, tracer] of sources) check(tracer(), f, label);
        });
      }
    });
  }
});
