// `ktables trace --all`: the usual packets for every service port, traced for their outcome.
import { inFile } from '../parse/read.js';
import type { TableRow } from '../trace/format.js';
import type { TracePacket } from '../trace/packet.js';
import { serviceScenarios } from '../trace/scenarios.js';
import type { Traced } from './trace-inputs.js';

export interface TracedAll {
  rows: TableRow[];
  notes: string[];
  /** Each reason a row is conditional, with how many rows it concerns. */
  conditions: Map<string, number>;
}

/** Every service port of the manifests or the dump; RULES names the rules file in its errors. */
export function traceAll(t: Traced, rules: string | undefined): TracedAll {
  const found = serviceScenarios(t.dump ?? t.model!);
  const notes = [...t.fileNotes, ...(t.dump?.notes ?? []), ...found.notes];
  if (t.dump) notes.unshift(`${t.dump.servicePorts.length} service port${t.dump.servicePorts.length === 1 ? '' : 's'} found in the rules`);
  // The table shows outcomes only: skip recording paths (much less to allocate on big clusters).
  // A rule-file error (a jump loop ...) names the file.
  const outcome = (p: TracePacket) =>
    rules ? inFile(rules, () => t.tracer.trace(p, { path: false })) : t.tracer.trace(p, { path: false });
  const rows: TableRow[] = found.scenarios.map((s) => ({
    service: s.service,
    protocol: s.protocol,
    destination: s.destination,
    from: s.from,
    result: outcome(s.packet),
  }));
  const conditions = new Map<string, number>();
  for (const r of rows) for (const c of r.result.conditions ?? []) conditions.set(c, (conditions.get(c) ?? 0) + 1);
  // Interfaces the rows assumed (rules that match one), once each.
  for (const r of rows) for (const n of r.result.notes) if (n.includes(': assumed ') && !notes.includes(n)) notes.push(n);
  return { rows, notes, conditions };
}
