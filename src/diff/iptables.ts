// iptables IR → DiffSide: kube-proxy's rules split by service port (kubeproxy/iptables-ports.ts)
// become chain views keyed by the rules' comparison keys (ir/iptables-key.ts), with the chains
// they name resolved to what those stand for (a service port's role, an endpoint).
import type { IptablesRuleset, Rule } from '../ir/iptables.js';
import { formatMatch, formatRule } from '../emit/iptables.js';
import { fillKey, normalizeRule } from '../ir/iptables-key.js';
import { KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL, KUBE_SERVICES, type Role } from '../kubeproxy/iptables-names.js';
import type { ChainOwner } from '../kubeproxy/iptables-owners.js';
import { iptablesPorts, type IptablesPort, type NodeChain } from '../kubeproxy/iptables-ports.js';
import { summarizeIptables } from '../kubeproxy/iptables-summary.js';
import { newDiffRun, type DiffRun } from './run.js';
import type { ChainView, DiffSide, Family, ServiceSummary, ServiceView } from './types.js';
import { notCompared, symbolizer, uniqueIds } from './views.js';

const ROLE_RANK: Record<Role, number> = { FW: 10, EXT: 11, SVC: 12, SVL: 13, SEP: 14 };
const SHARED_RANK: Record<string, number> = {
  [`filter ${KUBE_SERVICES}`]: 0,
  [`filter ${KUBE_EXTERNAL_SERVICES}`]: 1,
  [`filter ${KUBE_NODEPORTS}`]: 2,
  [`filter ${KUBE_PROXY_FIREWALL}`]: 3,
  [`nat ${KUBE_SERVICES}`]: 4,
  [`nat ${KUBE_NODEPORTS}`]: 5,
};
const NODE_VIEW: Record<NodeChain['kind'], { rank: number; owned: boolean; label?: string }> = {
  builtin: { rank: 0, owned: false },
  implied: { rank: 0, owned: false, label: 'implied: the jumps kube-proxy ensures' },
  shared: { rank: 1, owned: false },
  fixed: { rank: 2, owned: true },
  stale: { rank: 3, owned: true, label: 'no service port found for it' },
};

export function iptablesSide(rs: IptablesRuleset, run: DiffRun = newDiffRun()): DiffSide {
  const split = iptablesPorts(rs, run);
  const ctx: ViewContext = { family: rs.family, symbol: symbolizer(split.owners), owned: split.owners, run, apart: new WeakMap() };
  const nodeWide = split.nodeWide.map((c) => view(ctx, { ...NODE_VIEW[c.kind], ...c, id: `${c.table} ${c.name}` }));
  const services = new Map<string, ServiceView>();
  for (const p of split.ports.values()) services.set(p.name, serviceView(p, ctx));

  const notes: string[] = [];
  if (split.foreignChains.length > 0) notes.push(notCompared(split.foreignChains, 'chain%s kube-proxy does not own'));
  const n = split.foreignRules;
  if (n > 0) notes.push(`not compared: ${n} rule${n === 1 ? '' : 's'} in built-in chains that do not jump to a KUBE-* chain`);
  return { backend: 'iptables', family: rs.family, services, nodeWide: nodeWide.filter((v) => v.size > 0), notes };
}

function serviceView(p: IptablesPort, ctx: ViewContext): ServiceView {
  const chains: ChainView[] = [];
  for (const [id, rules] of p.shared) {
    const [table, name] = id.split(' ') as [string, string];
    chains.push(view(ctx, { table, name, id, rank: SHARED_RANK[id] ?? 9, rules, owned: false }));
  }
  const unique = uniqueIds();
  for (const c of p.chains) {
    if (c.rules.length === 0) continue;
    const sep = c.owner.role === 'SEP';
    const id = unique(sep ? `nat SEP ${c.owner.endpoint ?? c.name}` : `nat ${c.owner.role}`);
    const label = sep && c.owner.endpoint ? `endpoint ${c.owner.endpoint}` : undefined;
    chains.push(view(ctx, { table: 'nat', name: c.name, id, rank: ROLE_RANK[c.owner.role], rules: c.rules, owned: true, label }));
  }
  let summary: ServiceSummary | undefined;
  return { name: p.name, protocol: p.protocol, chains, summary: () => (summary ??= summarizeIptables(p, formatMatch)) };
}

interface ViewContext {
  family: Family;
  symbol: (chain: string) => string;
  /** The service chains of this side and their owners. */
  owned: Map<string, ChainOwner>;
  run: DiffRun;
  /** Per other side: the chains whose references resolve differently (usually none). */
  apart: WeakMap<ViewContext, Set<string>>;
}

function differentlyResolved(a: ViewContext, b: ViewContext): Set<string> {
  let set = a.apart.get(b);
  if (!set) {
    set = new Set();
    for (const name of a.owned.keys()) if (a.symbol(name) !== b.symbol(name)) set.add(name);
    for (const name of b.owned.keys()) if (!a.owned.has(name)) set.add(name);
    a.apart.set(b, set);
  }
  return set;
}

interface ViewSpec {
  table: string;
  name: string;
  id: string;
  rank: number;
  rules: Rule[];
  owned: boolean;
  label?: string | undefined;
  /**
   * Per rule, how many service rules follow it where it must be last (the NodePort dispatch,
   * kubeproxy/iptables-ports.ts): where it stands is otherwise lost once the chain is split.
   */
  misplaced?: number[] | undefined;
}

/** What each iptables view was made from, for sameAs (a reshaped copy is not in it). */
const made = new WeakMap<ChainView, { ctx: ViewContext; spec: ViewSpec }>();

function view(ctx: ViewContext, spec: ViewSpec): ChainView {
  const { family, symbol, run } = ctx;
  const key = (r: Rule) => {
    let n = run.normal[family].get(r);
    if (!n) run.normal[family].set(r, (n = normalizeRule(r, family)));
    return fillKey(n, symbol);
  };
  let keys: string[] | undefined;
  const m = spec.misplaced ?? [];
  const v: ChainView = {
    ...{ id: spec.id, table: spec.table, name: spec.name, rank: spec.rank, owned: spec.owned, size: spec.rules.length },
    ...(spec.label && { label: spec.label }),
    keys: () => (keys ??= spec.rules.map((r, i) => key(r) + (m[i] ? ' (before service rules)' : ''))),
    text: (i) => formatRule(spec.name, spec.rules[i]!) + (m[i] ? `   # not last: ${m[i]} service rules follow` : ''),
    sameAs: (other) => sameRules(ctx, spec, made.get(other)),
  };
  made.set(v, { ctx, spec });
  return v;
}

/** The very same rules, in order, naming chains that resolve alike on both sides. */
function sameRules(ctx: ViewContext, spec: ViewSpec, other: { ctx: ViewContext; spec: ViewSpec } | undefined): boolean {
  const a = spec.rules;
  const b = other?.spec.rules;
  if (!other || a.length !== b!.length || ctx.family !== other.ctx.family || String(spec.misplaced) !== String(other.spec.misplaced))
    return false;
  if (a !== b) for (let i = 0; i < a.length; i++) if (a[i] !== b![i]) return false;
  const apart = differentlyResolved(ctx, other.ctx);
  if (apart.size === 0) return true;
  for (const r of a) {
    const t = r.target;
    if (t && (t.kind === 'jump' || t.kind === 'goto') && apart.has(t.chain)) return false;
    for (const m of r.matches) if (m.kind === 'recent' && apart.has(m.name)) return false;
  }
  return true;
}
