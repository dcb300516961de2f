// Two DiffSides → what differs: per service port (status, changes in words, rule diffs per
// chain, counts) and node-wide. A service port differs when any of its chains' key sequences
// differ; chain order never matters, rule order within a chain does.
import { diffKeys, hunks } from '../util/line-diff.js';
import type { ChainView, DiffSide, ServiceSummary, ServiceView } from './types.js';
import { STAT_KEYS } from './result.js';
import type { ChainDiff, CompareOptions, DiffResult, NodeWideDiff, ServiceDiff, SideInfo, Stat } from './result.js';
import { describeNodeWide, describeService } from './words.js';

// Importers of the result types from here (apply, cli, tests) keep working.
export type { DiffResult, SideInfo } from './result.js';
import { differentReleases, releaseNote, sameMeaning, withoutReleaseShape } from './release.js';

const zero = (): Stat => Object.fromEntries(STAT_KEYS.map((k) => [k, 0])) as unknown as Stat;

function sameKeys(a: ChainView | undefined, b: ChainView | undefined): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  if (!a || !b || a.size === 0) return true;
  if (a.sameAs?.(b)) return true;
  const x = a.keys();
  const y = b.keys();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function byRank(a: ChainView, b: ChainView): number {
  return a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Chain-by-chain diff of two lists of chain views, matched by id. */
function diffChains(oldChains: ChainView[], newChains: ChainView[], opts: CompareOptions): ChainDiff[] {
  const olds = new Map(oldChains.map((c) => [c.id, c]));
  const news = new Map(newChains.map((c) => [c.id, c]));
  const all = [...new Map([...oldChains, ...newChains].map((c) => [c.id, c])).values()].sort(byRank);
  const out: ChainDiff[] = [];
  for (const ref of all) {
    const o = olds.get(ref.id);
    const n = news.get(ref.id);
    if (sameKeys(o, n)) continue;
    const edits = diffKeys(o?.keys() ?? [], n?.keys() ?? []);
    const d: ChainDiff = {
      id: ref.id,
      table: ref.table,
      // A slice of a shared chain has no rules on one side, but the chain itself is there.
      oldName: o && o.size > 0 ? o.name : ref.owned ? null : ref.name,
      newName: n && n.size > 0 ? n.name : ref.owned ? null : ref.name,
      status: !o || o.size === 0 ? 'added' : !n || n.size === 0 ? 'removed' : 'changed',
      owned: ref.owned,
      rulesAdded: edits.filter((e) => e.op === '+').length,
      rulesRemoved: edits.filter((e) => e.op === '-').length,
      hunks: hunks(
        edits,
        (i) => o!.text(i),
        (i) => n!.text(i),
        opts.context,
      ),
    };
    const label = n?.label ?? o?.label;
    if (label) d.label = label;
    out.push(d);
  }
  return out;
}

function chainStat(chains: ChainDiff[]): Stat {
  const s = zero();
  for (const c of chains) {
    s.rulesAdded += c.rulesAdded;
    s.rulesRemoved += c.rulesRemoved;
    if (c.owned && c.status === 'added') s.chainsAdded++;
    if (c.owned && c.status === 'removed') s.chainsRemoved++;
  }
  return s;
}

function endpointCounts(o: ServiceSummary | null, n: ServiceSummary | null): { added: number; removed: number } {
  const a = new Set((o?.endpoints ?? []).map((e) => e.address));
  const b = new Set((n?.endpoints ?? []).map((e) => e.address));
  return { added: [...b].filter((x) => !a.has(x)).length, removed: [...a].filter((x) => !b.has(x)).length };
}

/** The common case of a large diff: the same chains, in the same order, each unchanged. */
function unchanged(o: ServiceView | undefined, n: ServiceView | undefined): boolean {
  if (!o || !n || o.chains.length !== n.chains.length) return false;
  for (let i = 0; i < o.chains.length; i++) {
    if (o.chains[i]!.id !== n.chains[i]!.id || !sameKeys(o.chains[i], n.chains[i])) return false;
  }
  return true;
}

function compareService(
  name: string,
  o: ServiceView | undefined,
  n: ServiceView | undefined,
  opts: CompareOptions,
): ServiceDiff | undefined {
  if (unchanged(o, n)) return undefined;
  const chains = diffChains(o?.chains ?? [], n?.chains ?? [], opts);
  if (chains.length === 0) return undefined;
  const oldSummary = o && o.chains.length > 0 ? o.summary() : null;
  const newSummary = n && n.chains.length > 0 ? n.summary() : null;
  const status = !oldSummary ? 'added' : !newSummary ? 'removed' : 'changed';
  const stat = chainStat(chains);
  const eps = endpointCounts(oldSummary, newSummary);
  stat.endpointsAdded = eps.added;
  stat.endpointsRemoved = eps.removed;
  return {
    name,
    protocol: (newSummary ?? oldSummary)?.protocol ?? '',
    status,
    changes: describeService(oldSummary, newSummary, chains),
    old: oldSummary,
    new: newSummary,
    chains,
    stat,
  };
}

export function compareSides(
  oldSide: DiffSide,
  newSide: DiffSide,
  info: { old: SideInfo; new: SideInfo },
  opts: CompareOptions,
): DiffResult {
  const names = [...new Set([...oldSide.services.keys(), ...newSide.services.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const services: ServiceDiff[] = [];
  const totals = { ...zero(), servicePorts: { compared: names.length, added: 0, removed: 0, changed: 0, unchanged: 0 } };
  const releases = opts.acrossReleases ? differentReleases(oldSide, newSide) : undefined;
  let shapeOnly = 0;
  for (const name of names) {
    const d = compareService(name, oldSide.services.get(name), newSide.services.get(name), opts);
    const onlyShape = !!releases && d?.status === 'changed' && sameMeaning(d.old, d.new);
    if (!d || onlyShape) {
      totals.servicePorts.unchanged++;
      if (onlyShape) shapeOnly++;
      continue;
    }
    services.push(d);
    totals.servicePorts[d.status]++;
    add(totals, d.stat);
  }
  const [oldNodeWide, newNodeWide] = releases
    ? withoutReleaseShape(oldSide.backend, oldSide.nodeWide, newSide.nodeWide)
    : [oldSide.nodeWide, newSide.nodeWide];
  const nodeChains = diffChains(oldNodeWide, newNodeWide, opts);
  const nodeWideShape = !!releases && !sameChainDiffs(diffChains(oldSide.nodeWide, newSide.nodeWide, opts), nodeChains);
  const nodeWide: NodeWideDiff = { changes: describeNodeWide(nodeChains), chains: nodeChains, stat: chainStat(nodeChains) };
  add(totals, nodeWide.stat);
  const result: DiffResult = {
    old: info.old,
    new: info.new,
    identical: services.length === 0 && nodeChains.length === 0,
    services,
    nodeWide,
    totals,
    // Said once: rules of two kube-proxy releases differ in shape even where they behave alike.
    notes: { old: oldSide.notes, new: releases ? [releaseNote(releases, shapeOnly, nodeWideShape), ...newSide.notes] : newSide.notes },
  };
  if (releases) result.releases = { ...releases, shapeOnlyServicePorts: shapeOnly, shapeOnlyNodeWide: nodeWideShape };
  return result;
}

const sameChainDiffs = (a: ChainDiff[], b: ChainDiff[]) =>
  a.length === b.length &&
  a.every((c, i) => c.id === b[i]!.id && c.rulesAdded === b[i]!.rulesAdded && c.rulesRemoved === b[i]!.rulesRemoved);

function add(into: Stat, s: Stat): void {
  for (const k of STAT_KEYS) into[k] += s[k];
}
