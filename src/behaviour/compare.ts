// The behaviour diff: every probe through both sides' rules, compared by outcome.
import type { Family } from '../util/ip.js';
import type { TracePacket, TraceResult } from '../trace/packet.js';
import type { Probe } from './entries.js';
import { outcomeOf, sameOutcome, type Outcome } from './outcome.js';
import { explain, type SideInfo, type Why } from './reasons.js';

export interface Tracer {
  family: Family;
  trace(p: TracePacket, opts?: { path?: boolean }): TraceResult;
}

export interface BehaviourChange {
  probe: Probe;
  old: Outcome;
  new: Outcome;
  why: Why | null;
}

interface ServiceChanges {
  service: string;
  protocol: string;
  changes: BehaviourChange[];
}

export interface BehaviourDiff {
  old: SideInfo;
  new: SideInfo;
  services: ServiceChanges[];
  /** Probes whose outcome is the same on both sides. */
  unchanged: number;
  notes: string[];
}

export function compareBehaviour(
  probes: Probe[],
  tracers: { old: Tracer; new: Tracer },
  sides: { old: SideInfo; new: SideInfo },
  notes: string[] = [],
): BehaviourDiff {
  const services: ServiceChanges[] = [];
  let unchanged = 0;
  for (const probe of probes) {
    const o = outcomeOf(tracers.old.trace(probe.packet, { path: false }));
    const n = outcomeOf(tracers.new.trace(probe.packet, { path: false }));
    if (sameOutcome(o, n)) {
      unchanged++;
      continue;
    }
    let svc = services[services.length - 1];
    if (!svc || svc.service !== probe.service || svc.protocol !== probe.protocol.toUpperCase()) {
      svc = { service: probe.service, protocol: probe.protocol.toUpperCase(), changes: [] };
      services.push(svc);
    }
    svc.changes.push({ probe, old: o, new: n, why: explain({ probe, old: o, new: n, sides }) });
  }
  return { old: sides.old, new: sides.new, services, unchanged, notes };
}

export const changeCount = (d: BehaviourDiff) => d.services.reduce((k, s) => k + s.changes.length, 0);
