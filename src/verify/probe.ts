// Running the probes: in each namespace, TCP/UDP by the agent that already serves there (no
// new process), SCTP by a run of the raw-socket helper; all at the same time, each running its
// probes in parallel. A
// dropped connection costs its whole timeout, so the run takes about one timeout however many
// probes are dropped.
import { SystemError } from '../errors.js';
import type { System } from '../apply/system.js';
import type { Attempt, ProbeBatch, ProbeOutcome, ProbeSpec } from './agent.js';
import type { Lab, Place } from './lab.js';

export interface PlacedProbe {
  place: Place;
  spec: ProbeSpec;
}

export interface ProbeRunOptions {
  timeoutMs: number;
  concurrency?: number;
}

/** Attempts per probe id. Probes no helper can run here (SCTP without python3) are left out. */
export async function runProbes(sys: System, lab: Lab, probes: PlacedProbe[], o: ProbeRunOptions): Promise<Map<number, Attempt[]>> {
  const groups = new Map<string, { place: Place; sctp: boolean; specs: ProbeSpec[] }>();
  for (const p of probes) {
    const sctp = p.spec.proto === 'sctp';
    const k = `${p.place}/${sctp}`;
    const g = groups.get(k) ?? { place: p.place, sctp, specs: [] };
    g.specs.push(p.spec);
    groups.set(k, g);
  }
  const results = new Map<number, Attempt[]>();
  await Promise.all(
    [...groups.values()].map(async ({ place, sctp, specs }) => {
      const helper = lab.helper(sctp ? 'sctp' : 'tcp');
      if (!helper) return;
      const batch: ProbeBatch = { timeoutMs: o.timeoutMs, concurrency: o.concurrency ?? 64, probes: specs };
      // Worst case: every attempt of the slowest probe times out.
      const bound = specs.reduce((m, s) => Math.max(m, s.tries), 1) * o.timeoutMs * Math.ceil(specs.length / batch.concurrency) + 30_000;
      if (!sctp) {
        for (const oc of await lab.probe(place, batch, bound)) results.set(oc.id, oc.attempts);
        return;
      }
      const r = await sys.run(helper.cmd, [...helper.args, 'probe'], {
        netns: lab.ns[place],
        input: JSON.stringify(batch),
        timeoutMs: bound,
      });
      let outcomes: ProbeOutcome[];
      try {
        outcomes = JSON.parse(r.stdout) as ProbeOutcome[];
      } catch {
        throw new SystemError(`the probe helper in ${lab.ns[place]} printed no results`, r.stdout + r.stderr);
      }
      for (const oc of outcomes) results.set(oc.id, oc.attempts);
    }),
  );
  return results;
}
