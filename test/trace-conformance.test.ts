// kube-proxy's packet-flow expectations (flows.json of fixtures/kube-proxy/iptables), traced on
// ktables' compile in-process and on the same rules read back from their text (the --rules
// path); and, for the cases with kube-proxy's own expected rules, every packet --all would
// send gives the same answer on kube-proxy's rules as on ktables'.
import { describe, expect, it } from 'vitest';
import { kubeProxyCases } from './helpers/cases.js';
import { compileDir, flowPacket } from './trace-support.js';
import { emitIptables } from '../src/emit/iptables.js';
import { parseIptables } from '../src/parse/iptables.js';
import { IptablesTracer } from '../src/trace/iptables.js';
import { serviceScenarios } from '../src/trace/scenarios.js';
import type { TraceResult } from '../src/trace/packet.js';

const cases = kubeProxyCases('iptables');

const answer = (r: TraceResult) => ({
  verdict: r.verdict,
  masquerade: r.masquerade,
  endpoints: r.endpoints.map((e) => `${e.address} ${e.probability.toFixed(9)} ${e.masquerade}`),
});

describe('trace: kube-proxy conformance flows', () => {
  const withFlows = cases.filter((c) => c.flows);
  it('has every flow case', () => {
    expect(withFlows.length).toBeGreaterThanOrEqual(28);
    expect(withFlows.reduce((n, c) => n + c.flows!.length, 0)).toBeGreaterThanOrEqual(184);
  });
  for (const c of withFlows) {
    describe(c.name, () => {
      const compiled = compileDir(c.dir);
      const node = { family: compiled.model.node.family, addresses: compiled.model.node.nodeIPs };
      const reread = new IptablesTracer(parseIptables(emitIptables(compiled.ruleset), compiled.ruleset.family), node);
      for (const f of c.flows!) {
        it(f.name, () => {
          const want = { verdict: f.output, masquerade: Boolean(f.masq) };
          const a = compiled.tracer.trace(flowPacket(f));
          expect({ verdict: a.verdict, masquerade: a.masquerade }, 'ktables compile').toEqual(want);
          const b = reread.trace(flowPacket(f));
          expect({ verdict: b.verdict, masquerade: b.masquerade }, 'compile output read back (--rules)').toEqual(want);
          // DNAT branches cover every possibility.
          if (a.endpoints.length > 0 && a.branches.every((x) => x.outcome === 'DNAT')) {
            expect(a.endpoints.reduce((n, e) => n + e.probability, 0)).toBeCloseTo(1, 9);
          }
        });
      }
    });
  }
});

describe("trace: kube-proxy's expected rules (--rules) answer like ktables' compile", () => {
  for (const c of cases.filter((x) => x.expected !== undefined)) {
    it(c.name, () => {
      const compiled = compileDir(c.dir);
      const node = { family: compiled.model.node.family, addresses: compiled.model.node.nodeIPs };
      const kubeProxy = new IptablesTracer(parseIptables(c.expected!, compiled.ruleset.family), node);
      const { scenarios } = serviceScenarios(compiled.model);
      expect(scenarios.length).toBeGreaterThan(5);
      for (const s of scenarios) {
        const label = `${s.service} ${s.destination} from ${s.from}`;
        expect(answer(kubeProxy.trace(s.packet)), label).toEqual(answer(compiled.tracer.trace(s.packet)));
      }
    });
  }
});
