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
import type { ChainView, DiffSide, ServiceSummary, ServiceView } from './types.js';
import type { Family } from '../util/ip.js';
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
  const { family } = rs;
  const symbol = symbolizer(split.owners);
  const key = (r: Rule) => {
    let n = run.normal[family].get(r);
    if (!n) run.normal[family].set(r, (n = normalizeRule(r, family)));
    return fillKey(n, symbol);
  };
  const ctx: ViewContext = { family, symbol, owned: split.owners, key, apart: new WeakMap() };
  const nodeWide = split.nodeWide.map((c) => new IptablesView(ctx, { ...NODE_VIEW[c.kind], ...c, id: `${c.table} ${c.name}` }));
  const services = new Map<string, ServiceView>();
  for (const p of split.ports.values()) services.set(p.name, serviceView(p, ctx));

  const notes: string[] = [];
  if (split.foreignChains.length > 0) notes.push(notCompared(split.foreignChains, 'chain%s kube-proxy does not own'));
  const n = split.foreignRules;
  if (n > 0) notes.push(`not compared: ${n} rule${n === 1 ? '' : 's'} in built-in chains that do not jump to a KUBE-* chain`);
  return { backend: 'iptables', family, services, nodeWide: nodeWide.filter((v) => v.size > 0), notes };
}

function serviceView(p: IptablesPort, ctx: ViewContext): ServiceView {
  const chains: ChainView[] = [];
  for (const [id, rules] of p.shared) {
    const at = id.indexOf(' ');
    chains.push(
      new IptablesView(ctx, { table: id.slice(0, at), name: id.slice(at + 1), id, rank: SHARED_RANK[id] ?? 9, rules, owned: false }),
    );
  }
  const unique = uniqueIds();
  for (const c of p.chains) {
    if (c.rules.length === 0) continue;
    const sep = c.owner.role === 'SEP';
    const id = unique(sep ? `nat SEP ${c.owner.endpoint ?? c.name}` : `nat ${c.owner.role}`);
    const label = sep && c.owner.endpoint ? `endpoint ${c.owner.endpoint}` : undefined;
    chains.push(
      new IptablesView(ctx, { table: 'nat', name: c.name, id, rank: ROLE_RANK[c.owner.role], rules: c.rules, owned: true, label }),
    );
  }
  let summary: ServiceSummary | undefined;
  return { name: p.name, protocol: p.protocol, chains, summary: () => (summary ??= summarizeIptables(p, formatMatch)) };
}

interface ViewContext {
  family: Family;
  symbol: (chain: string) => string;
  /** The service chains of this side and their owners. */
  owned: Map<string, ChainOwner>;
  /** A rule's comparison key, its chain references resolved. */
  key: (r: Rule) => string;
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

class IptablesView implements ChainView {
  readonly id: string;
  readonly table: string;
  readonly name: string;
  readonly rank: number;
  readonly owned: boolean;
  readonly size: number;
  label?: string;
  private cached?: string[];

  constructor(
    private readonly ctx: ViewContext,
    private readonly spec: ViewSpec,
  ) {
    ({ id: this.id, table: this.table, name: this.name, rank: this.rank, owned: this.owned } = spec);
    this.size = spec.rules.length;
    if (spec.label) this.label = spec.label;
  }

  keys(): readonly string[] {
    const m = this.spec.misplaced;
    return (this.cached ??= this.spec.rules.map((r, i) => this.ctx.key(r) + (m?.[i] ? ' (before service rules)' : '')));
  }

  text(i: number): string {
    const m = this.spec.misplaced?.[i];
    return formatRule(this.name, this.spec.rules[i]!) + (m ? `   # not last: ${m} service rules follow` : '');
  }

  /** The very same rules, in order, naming chains that resolve alike on both sides. */
  sameAs(other: ChainView): boolean {
    if (!(other instanceof IptablesView)) return false;
    const [a, b] = [this.spec.rules, other.spec.rules];
    if (a.length !== b.length || this.ctx.family !== other.ctx.family || String(this.spec.misplaced) !== String(other.spec.misplaced))
      return false;
    if (a !== b) for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    const apart = differentlyResolved(this.ctx, other.ctx);
    if (apart.size === 0) return true;
    for (const r of a) {
      const t = r.target;
      if (t && (t.kind === 'jump' || t.kind === 'goto') && apart.has(t.chain)) return false;
      for (const m of r.matches) if (m.kind === 'recent' && apart.has(m.name)) return false;
    }
    return true;
  }
}
