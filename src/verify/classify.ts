// What one probe's connections show, and whether that is what was predicted. Pure.
//
// Every attempt becomes one outcome: an endpoint that answered (`ip:port`, masqueraded or
// not: the responder saw a client address other than the probe's source), DROP (timed out),
// REJECT (refused: ICMP unreachable or a reset), `local` (the node's own responder answered:
// accepted on the node, no DNAT) or `passed` (the outside's catch-all answered: forwarded
// without DNAT). A trace branch maps to the same outcomes, so the two compare directly.
import type { Attempt } from './agent.js';
import type { TraceBranch, TraceResult } from '../trace/packet.js';

type Outcome =
  { kind: 'endpoint'; address: string; masquerade: boolean } | { kind: 'DROP' | 'REJECT' | 'local' | 'passed' | 'unreachable' };

export interface Observation {
  /** Per attempt, in order. */
  outcomes: Outcome[];
  /** Set when the lab itself failed (a bind error, a bad reply): no verdict possible. */
  error?: string;
  /** Set when the probe was not run at all (e.g. SCTP without raw sockets). */
  notRun?: string;
}

export interface Expectation {
  /** Outcome kinds/endpoints that may appear. */
  allowed: Outcome[];
  /** Endpoints that must all answer at least once (empty under session affinity). */
  mustSee: string[];
  /** Smallest branch probability among mustSee endpoints (decides how many tries). */
  minProbability: number;
  /** Session affinity: every connection from one client goes to the same endpoint. */
  sticky?: boolean;
}

export function observe(attempts: Attempt[], src: string): Observation {
  const outcomes: Outcome[] = [];
  for (const a of attempts) {
    switch (a.result) {
      case 'ok': {
        if (a.role === 'endpoint')
          outcomes.push({ kind: 'endpoint', address: a.server ?? '?', masquerade: hostOf(a.client ?? '') !== src });
        else if (a.role === 'node') outcomes.push({ kind: 'local' });
        else outcomes.push({ kind: 'passed' });
        break;
      }
      case 'timeout':
        outcomes.push({ kind: 'DROP' });
        break;
      case 'refused':
        outcomes.push({ kind: 'REJECT' });
        break;
      case 'unreachable':
        outcomes.push({ kind: 'unreachable' });
        break;
      case 'error':
        return { outcomes, error: a.error ?? 'probe error' };
    }
  }
  return { outcomes };
}

/** `10.0.0.1:80` / `[fd00::1]:80` → the address. */
function hostOf(hostPort: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(hostPort) ?? /^(.*):\d+$/.exec(hostPort);
  return m ? m[1]! : hostPort;
}

function branchOutcome(b: TraceBranch): Outcome {
  switch (b.outcome) {
    case 'DNAT':
      return { kind: 'endpoint', address: b.dnat ?? '?', masquerade: b.masquerade };
    case 'DROP':
    case 'REJECT':
      return { kind: b.outcome };
    default:
      // Nothing decided (or ACCEPT): the packet goes where routing sends it, unchanged.
      return b.delivery === 'local' ? { kind: 'local' } : b.delivery === 'dropped' ? { kind: 'DROP' } : { kind: 'passed' };
  }
}

export function expectFromTrace(r: TraceResult): Expectation {
  const allowed: Outcome[] = [];
  const prob = new Map<string, number>();
  let affinity = false;
  for (const b of r.branches) {
    const o = branchOutcome(b);
    if (!allowed.some((x) => sameOutcome(x, o))) allowed.push(o);
    if (o.kind === 'endpoint') prob.set(o.address, (prob.get(o.address) ?? 0) + b.probability);
    if (b.recent.length > 0) affinity = true;
  }
  // With session affinity one client keeps its endpoint: only the first pick is random.
  const mustSee = affinity ? [] : [...prob.keys()];
  const e: Expectation = { allowed, mustSee, minProbability: Math.min(1, ...mustSee.map((a) => prob.get(a)!)) };
  if (affinity) e.sticky = true;
  return e;
}

/**
 * A conformance flow's expectation: `output` is kube-proxy's test tracer verdict (endpoints
 * joined by ", ", DROP, REJECT, ACCEPT or "") and `masq` whether it masqueraded.
 */
export function expectFromFlow(output: string, masq: boolean): Expectation {
  const parts = output
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const allowed: Outcome[] = [];
  const mustSee: string[] = [];
  if (parts.length === 0) allowed.push({ kind: 'local' }, { kind: 'passed' });
  for (const p of parts) {
    if (p === 'DROP' || p === 'REJECT') allowed.push({ kind: p });
    else if (p === 'ACCEPT') allowed.push({ kind: 'local' });
    else {
      allowed.push({ kind: 'endpoint', address: p, masquerade: masq });
      mustSee.push(p);
    }
  }
  return { allowed, mustSee, minProbability: mustSee.length > 0 ? 1 / mustSee.length : 1 };
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'endpoint' || (b.kind === 'endpoint' && a.address === b.address && a.masquerade === b.masquerade);
}

/** Attempts needed so that each endpoint is seen with probability ≥ 1 - 1e-6 (capped). */
const MAX_TRIES = 400;
export function triesFor(e: Expectation): number {
  if (e.mustSee.length === 0) return e.allowed.some((o) => o.kind === 'endpoint') ? 3 : 1;
  if (e.minProbability >= 1) return 1;
  return Math.min(MAX_TRIES, Math.ceil(Math.log(1e-6) / Math.log(1 - e.minProbability)));
}

/** Empty when the observation fits the expectation; else why not. */
export function mismatches(obs: Observation, e: Expectation, tries: number): string[] {
  if (obs.error) return [`lab error: ${obs.error}`];
  if (obs.notRun) return [];
  const out: string[] = [];
  for (const o of obs.outcomes) {
    if (e.allowed.some((x) => sameOutcome(x, o))) continue;
    const msg = `unexpected ${describeOutcome(o)}`;
    if (!out.includes(msg)) out.push(msg);
  }
  // Coverage is only owed when the tries were enough to make a miss a one-in-a-million event.
  const seen = new Set(obs.outcomes.flatMap((o) => (o.kind === 'endpoint' ? [o.address] : [])));
  if (e.sticky && seen.size > 1) out.push(`session affinity broken: one client reached ${[...seen].join(', ')}`);
  const enough = tries >= triesFor(e) && triesFor(e) < MAX_TRIES;
  if (out.length === 0 && enough)
    for (const a of e.mustSee) if (!seen.has(a)) out.push(`${a} never answered in ${obs.outcomes.length} connections`);
  return out;
}

function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case 'endpoint':
      return `${o.address}${o.masquerade ? ' (masq)' : ''}`;
    case 'DROP':
      return 'DROP (timeout)';
    case 'REJECT':
      return 'REJECT (refused)';
    case 'local':
      return 'accepted on the node';
    case 'passed':
      return 'passed through (no NAT)';
    case 'unreachable':
      return 'unreachable';
  }
}

/** An observation in one short line: endpoints with counts, then the rest. */
export function summarize(obs: Observation): string {
  if (obs.notRun) return `not run: ${obs.notRun}`;
  if (obs.error) return `error: ${obs.error}`;
  const counts = new Map<string, number>();
  for (const o of obs.outcomes) {
    const k = describeOutcome(o);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (obs.outcomes.length > 1 ? `${k} ×${n}` : k)).join(', ');
}

export function describeExpectation(e: Expectation): string {
  return e.allowed.map(describeOutcome).join(', ');
}
