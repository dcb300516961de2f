// What happened to a packet, reduced to what a behaviour diff compares: per branch the verdict
// (DNAT endpoint, DROP, REJECT, ACCEPT, not handled), its probability and masquerade. Paths,
// marks, chain names and rule order do not count: they differ between modes by design.
import { percent } from '../trace/format.js';
import type { TraceResult } from '../trace/packet.js';

interface OutcomeBranch {
  /** An endpoint (ip:port), DROP, REJECT, ACCEPT, or '' when no rule decided. */
  verdict: string;
  probability: number;
  masquerade: boolean;
  /** For '' (not handled): where the packet went anyway. */
  delivery?: 'local' | 'forward' | 'out' | 'dropped';
}

export interface Outcome {
  /** As `ktables trace --json` writes it: endpoints joined by ", ", DROP, REJECT, ACCEPT or "". */
  verdict: string;
  masquerade: boolean;
  branches: OutcomeBranch[];
}

/** Probabilities as the kernel has them are binary fractions; six decimals tell them apart. */
const round = (p: number) => Math.round(p * 1e6) / 1e6;

export function outcomeOf(r: TraceResult): Outcome {
  const merged = new Map<string, OutcomeBranch>();
  for (const b of r.branches) {
    const verdict = b.outcome === 'DNAT' ? (b.dnat ?? '') : b.outcome === 'NONE' ? '' : b.outcome;
    const live = b.outcome !== 'DROP' && b.outcome !== 'REJECT';
    const branch: OutcomeBranch = { verdict, probability: b.probability, masquerade: live && b.masquerade };
    if (b.outcome === 'NONE') branch.delivery = b.delivery;
    const key = `${branch.verdict}\0${branch.masquerade}\0${branch.delivery ?? ''}`;
    const had = merged.get(key);
    if (had) had.probability += b.probability;
    else merged.set(key, branch);
  }
  const branches = [...merged.values()].map((b) => ({ ...b, probability: round(b.probability) }));
  branches.sort((a, b) => (a.verdict < b.verdict ? -1 : a.verdict > b.verdict ? 1 : Number(a.masquerade) - Number(b.masquerade)));
  return { verdict: r.verdict, masquerade: r.masquerade, branches };
}

export function sameOutcome(a: Outcome, b: Outcome): boolean {
  return JSON.stringify(a.branches) === JSON.stringify(b.branches);
}

export const notHandled = (o: Outcome) => o.branches.every((b) => b.verdict === '');
export const isVerdict = (o: Outcome, v: string) => o.branches.length > 0 && o.branches.every((b) => b.verdict === v);

/** For people: "10.0.0.1:80 50%, 10.0.0.2:80 50%", "DROP", "not handled (delivered to the node)". */
export function describeOutcome(o: Outcome): string {
  const many = o.branches.length > 1;
  const parts = o.branches.map((b) => {
    const what =
      b.verdict !== ''
        ? b.verdict
        : `not handled (${b.delivery === 'local' ? 'delivered to the node' : b.delivery === 'forward' ? 'forwarded untouched' : b.delivery === 'dropped' ? 'no route' : 'sent out untouched'})`;
    return `${what}${many ? ` ${percent(b.probability)}` : ''}`;
  });
  const live = o.branches.filter((b) => b.verdict !== 'DROP' && b.verdict !== 'REJECT');
  const m = live.filter((b) => b.masquerade).length;
  const masq = m === 0 ? '' : m === live.length ? ', masqueraded' : ', partly masqueraded';
  return parts.join(', ') + masq;
}
