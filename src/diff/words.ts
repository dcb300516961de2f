// What changed, in words a reviewer reads before the rule diffs: one phrase per kind of change,
// computed from the two semantic summaries (and, when they agree, from the chains).
import type { Change, ChangeKind, ChainDiff } from './result.js';
import type { Destination, DestinationKind, EndpointInfo, Handling, ServiceSummary } from './types.js';

const LIST_MAX = 5;

function list(items: string[]): string {
  if (items.length <= LIST_MAX) return items.join(', ');
  return `${items.slice(0, LIST_MAX).join(', ')} and ${items.length - LIST_MAX} more`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const KIND_LABEL: Record<DestinationKind, string> = {
  clusterIP: 'cluster IP',
  externalIP: 'external IP',
  loadBalancerIP: 'LoadBalancer IP',
  externalIPOrLoadBalancerIP: 'external or LoadBalancer IP',
  nodePort: 'NodePort',
  healthCheckNodePort: 'health check NodePort',
};

// Either of the two is reported as an external IP change.
const kindChange = (k: DestinationKind): ChangeKind => (k === 'externalIPOrLoadBalancerIP' ? 'externalIP' : k);

function destinationLabel(d: Destination): string {
  return `${KIND_LABEL[d.kind]} ${d.address}`;
}

function handlingNote(h: Handling): string {
  return h === 'REJECT' ? ' (REJECT)' : h === 'DROP' ? ' (DROP)' : '';
}

/** One line describing everything a summary says, for added and removed service ports. */
function describeSummary(s: ServiceSummary): string {
  const parts: string[] = [];
  const dests = s.destinations.map((d) => destinationLabel(d) + handlingNote(d.handling));
  parts.push(dests.length > 0 ? list(dests) : 'no destinations');
  if (s.loadBalancerSourceRanges.length > 0) parts.push(`source ranges ${list(s.loadBalancerSourceRanges)}`);
  parts.push(s.endpoints.length === 0 ? 'no endpoints' : plural(s.endpoints.length, 'endpoint'));
  if (s.sessionAffinityTimeoutSeconds !== null) parts.push(`session affinity ClientIP ${s.sessionAffinityTimeoutSeconds}s`);
  if (s.internalTrafficPolicy === 'Local') parts.push('internalTrafficPolicy Local');
  if (s.externalTrafficPolicy === 'Local') parts.push('externalTrafficPolicy Local');
  return parts.join(', ');
}

const group = (d: Destination) => (d.kind === 'nodePort' || d.kind === 'healthCheckNodePort' ? `${d.kind} ${d.address}` : d.address);
const ambiguous = (k: DestinationKind) => k === 'externalIPOrLoadBalancerIP';

function handlingChange(from: Handling, to: Handling, dests: string[]): string {
  const what = list(dests);
  if (to === 'REJECT') return `now REJECTs ${what}${from === 'endpoints' ? ' (no endpoints)' : ` (was ${from})`}`;
  if (to === 'DROP') return `now DROPs ${what}${from === 'endpoints' ? ' (no local endpoints)' : ` (was ${from})`}`;
  if (to === 'endpoints') return `${what}: forwarded to endpoints again (was ${from})`;
  return `${what}: ${from} → ${to}`;
}

function describeDestinations(o: Destination[], n: Destination[], out: Change[]): void {
  const olds = new Map(o.map((d) => [group(d), d]));
  const news = new Map(n.map((d) => [group(d), d]));
  const removed = o.filter((d) => !news.has(group(d)));
  const added = n.filter((d) => !olds.has(group(d)));

  // A single-valued destination that moved: "NodePort 30080 → 30081".
  for (const kind of ['clusterIP', 'nodePort', 'healthCheckNodePort'] as DestinationKind[]) {
    const r = removed.filter((d) => d.kind === kind);
    const a = added.filter((d) => d.kind === kind);
    if (r.length === 1 && a.length === 1) {
      out.push({ kind: kindChange(kind), text: `${KIND_LABEL[kind]} ${r[0]!.address} → ${a[0]!.address}${handlingNote(a[0]!.handling)}` });
      removed.splice(removed.indexOf(r[0]!), 1);
      added.splice(added.indexOf(a[0]!), 1);
    }
  }
  // Added ones say what they do; removed ones only what they were.
  const listed = (ds: Destination[], what: 'added' | 'removed') => {
    const byKind = new Map<DestinationKind, Destination[]>();
    for (const d of ds) byKind.set(d.kind, [...(byKind.get(d.kind) ?? []), d]);
    for (const [kind, some] of byKind) {
      const label = some.length === 1 ? KIND_LABEL[kind] : `${KIND_LABEL[kind]}s`;
      const items = some.map((d) => d.address + (what === 'added' ? handlingNote(d.handling) : ''));
      out.push({ kind: kindChange(kind), text: `${label} ${what}: ${list(items)}` });
    }
  };
  listed(added, 'added');
  listed(removed, 'removed');

  const handling = new Map<string, { from: Handling; to: Handling; dests: string[] }>();
  for (const d of n) {
    const before = olds.get(group(d));
    if (!before) continue;
    if (before.kind !== d.kind && !ambiguous(before.kind) && !ambiguous(d.kind)) {
      out.push({ kind: 'destinationKind', text: `${d.address}: ${KIND_LABEL[before.kind]} → ${KIND_LABEL[d.kind]}` });
    }
    if (before.handling !== d.handling) {
      const key = `${before.handling}>${d.handling}`;
      const label = destinationLabel(ambiguous(d.kind) ? before : d);
      const h = handling.get(key);
      if (h) h.dests.push(label);
      else handling.set(key, { from: before.handling, to: d.handling, dests: [label] });
    }
  }
  for (const h of handling.values()) out.push({ kind: 'handling', text: handlingChange(h.from, h.to, h.dests) });
}

function describeEndpoints(o: EndpointInfo[], n: EndpointInfo[], anyLocal: boolean, out: Change[]): void {
  const olds = new Map(o.map((e) => [e.address, e]));
  const news = new Map(n.map((e) => [e.address, e]));
  const tag = (e: EndpointInfo) => (anyLocal && e.local && !e.cluster ? ' (local only)' : anyLocal && e.local ? ' (local)' : '');
  const added = n.filter((e) => !olds.has(e.address)).map((e) => e.address + tag(e));
  const removed = o.filter((e) => !news.has(e.address)).map((e) => e.address);
  if (added.length > 0) out.push({ kind: 'endpoints', text: `endpoints added: ${list(added)}` });
  if (removed.length > 0) out.push({ kind: 'endpoints', text: `endpoints removed: ${list(removed)}` });
  const moved = (pick: (e: EndpointInfo) => boolean) => ({
    gained: n.filter((e) => olds.has(e.address) && pick(e) && !pick(olds.get(e.address)!)).map((e) => e.address),
    lost: n.filter((e) => olds.has(e.address) && !pick(e) && pick(olds.get(e.address)!)).map((e) => e.address),
  });
  const local = moved((e) => e.local);
  if (local.gained.length > 0) out.push({ kind: 'endpoints', text: `now serving node-local traffic: ${list(local.gained)}` });
  if (local.lost.length > 0) out.push({ kind: 'endpoints', text: `no longer serving node-local traffic: ${list(local.lost)}` });
  const cluster = moved((e) => e.cluster);
  if (cluster.gained.length > 0) out.push({ kind: 'endpoints', text: `now serving cluster-wide traffic: ${list(cluster.gained)}` });
  if (cluster.lost.length > 0) out.push({ kind: 'endpoints', text: `no longer serving cluster-wide traffic: ${list(cluster.lost)}` });
}

function describeRanges(o: string[], n: string[], out: Change[]): void {
  const added = n.filter((r) => !o.includes(r));
  const removed = o.filter((r) => !n.includes(r));
  if (added.length === 0 && removed.length === 0) return;
  if (o.length === 0) out.push({ kind: 'sourceRanges', text: `LoadBalancer traffic now restricted to source ranges ${list(n)}` });
  else if (n.length === 0)
    out.push({ kind: 'sourceRanges', text: `LoadBalancer traffic no longer restricted by source ranges (was ${list(o)})` });
  else {
    const parts: string[] = [];
    if (added.length > 0) parts.push(`added ${list(added)}`);
    if (removed.length > 0) parts.push(`removed ${list(removed)}`);
    out.push({ kind: 'sourceRanges', text: `source ranges ${parts.join('; ')}` });
  }
}

function describeChainsOnly(chains: ChainDiff[], out: Change[]): void {
  const reordered = chains.filter((c) => c.status === 'changed' && c.rulesAdded === c.rulesRemoved && sameMultiset(c));
  const names = (cs: ChainDiff[]) => list(cs.map((c) => `${c.table} ${c.newName ?? c.oldName}`));
  if (reordered.length > 0) out.push({ kind: 'ruleOrder', text: `rule order changed in ${names(reordered)}` });
  const other = chains.filter((c) => !reordered.includes(c));
  if (other.length > 0) out.push({ kind: 'rules', text: `rules changed in ${names(other)}` });
}

// A hunk set whose removed and added lines are the same texts is a reordering. Text is the
// side's spelling, so this can miss a reorder between differently spelled sides: it then
// reads "rules changed", which is still true.
function sameMultiset(c: ChainDiff): boolean {
  const count = new Map<string, number>();
  for (const h of c.hunks) {
    for (const l of h.lines) {
      if (l.op === ' ') continue;
      count.set(l.text, (count.get(l.text) ?? 0) + (l.op === '+' ? 1 : -1));
    }
  }
  return [...count.values()].every((v) => v === 0);
}

export function describeService(o: ServiceSummary | null, n: ServiceSummary | null, chains: ChainDiff[]): Change[] {
  if (!o && n) return [{ kind: 'added', text: `added: ${describeSummary(n)}` }];
  if (o && !n) return [{ kind: 'removed', text: `removed (was: ${describeSummary(o)})` }];
  if (!o || !n) return [];
  const out: Change[] = [];
  if (o.protocol !== n.protocol && o.protocol && n.protocol) out.push({ kind: 'protocol', text: `protocol ${o.protocol} → ${n.protocol}` });
  describeDestinations(o.destinations, n.destinations, out);
  const anyLocal = [...o.endpoints, ...n.endpoints].some((e) => e.local);
  describeEndpoints(o.endpoints, n.endpoints, anyLocal, out);
  describeRanges(o.loadBalancerSourceRanges, n.loadBalancerSourceRanges, out);
  const a = o.sessionAffinityTimeoutSeconds;
  const b = n.sessionAffinityTimeoutSeconds;
  if (a === null && b !== null) out.push({ kind: 'sessionAffinity', text: `session affinity ClientIP enabled (timeout ${b}s)` });
  else if (a !== null && b === null) out.push({ kind: 'sessionAffinity', text: 'session affinity disabled' });
  else if (a !== b) out.push({ kind: 'sessionAffinity', text: `session affinity timeout ${a}s → ${b}s` });
  for (const k of ['internalTrafficPolicy', 'externalTrafficPolicy'] as const) {
    if (o[k] && n[k] && o[k] !== n[k]) out.push({ kind: k, text: `${k} ${o[k]} → ${n[k]}` });
  }
  if (o.clusterIPMasquerade && n.clusterIPMasquerade && o.clusterIPMasquerade !== n.clusterIPMasquerade) {
    out.push({ kind: 'masquerade', text: `cluster IP traffic masqueraded: ${o.clusterIPMasquerade} → ${n.clusterIPMasquerade}` });
  }
  if (out.length === 0) describeChainsOnly(chains, out);
  return out;
}

export function describeNodeWide(chains: ChainDiff[]): Change[] {
  const out: Change[] = [];
  for (const c of chains) {
    const name = `${c.table} ${c.newName ?? c.oldName}`;
    // A slice of a built-in or shared chain is never "added": only its rules are.
    if (c.status === 'added' && c.owned) out.push({ kind: 'chainAdded', text: `${name} added (${plural(c.rulesAdded, 'rule')})` });
    else if (c.status === 'removed' && c.owned)
      out.push({ kind: 'chainRemoved', text: `${name} removed (had ${plural(c.rulesRemoved, 'rule')})` });
    else if (c.rulesAdded === c.rulesRemoved && sameMultiset(c)) out.push({ kind: 'ruleOrder', text: `${name}: rule order changed` });
    else {
      const parts: string[] = [];
      if (c.rulesAdded > 0) parts.push(`${plural(c.rulesAdded, 'rule')} added`);
      if (c.rulesRemoved > 0) parts.push(`${plural(c.rulesRemoved, 'rule')} removed`);
      out.push({ kind: 'rules', text: `${name}: ${parts.join(', ')}` });
    }
  }
  return out;
}
