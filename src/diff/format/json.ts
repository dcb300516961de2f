// `--format json`: a stable, documented schema (docs/diff-json.md). Field order is fixed here
// rather than left to whatever the internal objects hold, so internal changes cannot change it.
import { STAT_KEYS, type ChainDiff, type DiffResult, type Stat } from '../result.js';
import type { ServiceSummary } from '../types.js';

const JSON_SCHEMA = 'ktables.diff/v1';

const stat = (s: Stat) => Object.fromEntries(STAT_KEYS.map((k) => [k, s[k]]));

const summary = (s: ServiceSummary | null) =>
  s && {
    protocol: s.protocol,
    destinations: s.destinations.map((d) => ({ kind: d.kind, address: d.address, handling: d.handling })),
    loadBalancerSourceRanges: s.loadBalancerSourceRanges,
    sessionAffinityTimeoutSeconds: s.sessionAffinityTimeoutSeconds,
    internalTrafficPolicy: s.internalTrafficPolicy,
    externalTrafficPolicy: s.externalTrafficPolicy,
    endpoints: s.endpoints.map((e) => ({ address: e.address, cluster: e.cluster, local: e.local })),
    clusterIPMasquerade: s.clusterIPMasquerade,
  };

const chain = (c: ChainDiff) => ({
  id: c.id,
  table: c.table,
  oldName: c.oldName,
  newName: c.newName,
  label: c.label ?? null,
  status: c.status,
  owned: c.owned,
  rulesAdded: c.rulesAdded,
  rulesRemoved: c.rulesRemoved,
  hunks: c.hunks.map((h) => ({
    oldStart: h.oldStart,
    oldLines: h.oldLines,
    newStart: h.newStart,
    newLines: h.newLines,
    lines: h.lines.map((l) => `${l.op}${l.text}`),
  })),
});

export function formatJson(r: DiffResult, o: { stat: boolean }): string {
  const side = (s: DiffResult['old']) => ({ source: s.source, input: s.input, backend: s.backend, family: s.family });
  const doc = {
    schema: JSON_SCHEMA,
    old: side(r.old),
    new: side(r.new),
    identical: r.identical,
    totals: {
      servicePorts: { ...r.totals.servicePorts },
      ...stat(r.totals),
    },
    services: r.services.map((s) =>
      o.stat
        ? { name: s.name, protocol: s.protocol, status: s.status, stat: stat(s.stat) }
        : {
            name: s.name,
            protocol: s.protocol,
            status: s.status,
            changes: s.changes.map((c) => ({ kind: c.kind, text: c.text })),
            stat: stat(s.stat),
            old: summary(s.old),
            new: summary(s.new),
            chains: s.chains.map(chain),
          },
    ),
    nodeWide: o.stat
      ? { stat: stat(r.nodeWide.stat) }
      : {
          changes: r.nodeWide.changes.map((c) => ({ kind: c.kind, text: c.text })),
          stat: stat(r.nodeWide.stat),
          chains: r.nodeWide.chains.map(chain),
        },
    notes: { old: r.notes.old, new: r.notes.new },
    ...(r.releases && {
      releases: {
        old: r.releases.old,
        new: r.releases.new,
        shapeOnlyServicePorts: r.releases.shapeOnlyServicePorts,
        shapeOnlyNodeWide: r.releases.shapeOnlyNodeWide,
      },
    }),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
