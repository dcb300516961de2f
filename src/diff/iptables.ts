// iptables IR → DiffSide: the adapter that turns one rule set (a compile or a node dump) into
// per-service chain views with comparison keys, and the node-wide rest.
//
// What is compared: every KUBE-* chain, and in the built-in chains the rules that jump to a
// KUBE-* chain. Chains other software owns (DOCKER, CNI, ...) and the rest of the built-in
// chains are left out, with a note. A chain with no rules is the same as no chain. A rule set
// without built-in chains (a restore payload, as ktables compile and kube-proxy write it) is
// read as having the jump rules kube-proxy ensures before each sync.
import { isOthersKubeChain } from '../parse/owners.js';
import { BUILTIN_CHAINS, targetChain } from '../ir/iptables.js';
import type { Chain, IptablesRuleset, Rule, Table } from '../ir/iptables.js';
import { formatMatch, formatRule } from '../emit/iptables.js';
import { jumpRulesFor } from '../backends/iptables/jumps.js';
import { isLastRuleComment } from '../kubeproxy/iptables-comments.js';
import { isShared, roleOf, type Role } from '../kubeproxy/iptables-names.js';
import { attribute, type ChainOwner } from '../kubeproxy/iptables-owners.js';
import { summarizeIptables } from '../kubeproxy/iptables-summary.js';
import { fillKey, normalizeRule, type NormalRule } from '../ir/iptables-key.js';
import { newDiffRun, type DiffRun } from './run.js';
import type { ChainView, DiffSide, Family, ServiceSummary, ServiceView } from './types.js';
import { notCompared, symbolizer, uniqueIds } from './views.js';

function normal(rule: Rule, family: Family, run: DiffRun): NormalRule {
  const cache = run.normal[family];
  let n = cache.get(rule);
  if (!n) cache.set(rule, (n = normalizeRule(rule, family)));
  return n;
}

const ROLE_RANK: Record<Role, number> = { FW: 10, EXT: 11, SVC: 12, SVL: 13, SEP: 14 };
const SHARED_RANK: Record<string, number> = {
  'filter KUBE-SERVICES': 0,
  'filter KUBE-EXTERNAL-SERVICES': 1,
  'filter KUBE-NODEPORTS': 2,
  'filter KUBE-PROXY-FIREWALL': 3,
  'nat KUBE-SERVICES': 4,
  'nat KUBE-NODEPORTS': 5,
};

interface Group {
  name: string;
  protocol: string;
  shared: Map<string, { chain: string; rules: Rule[] }>;
  chains: { name: string; owner: ChainOwner; rules: Rule[] }[];
}

export function iptablesSide(input: IptablesRuleset, run: DiffRun = newDiffRun()): DiffSide {
  const family: Family = input.family;
  const rs = withoutDeleted(input);
  const att = attribute(rs, run);
  const symbol = symbolizer(att.chains);
  const ctx: ViewContext = { family, symbol, owned: att.chains, run, apart: new WeakMap() };

  const groups = new Map<string, Group>();
  const group = (service: string): Group => {
    let g = groups.get(service);
    if (!g) groups.set(service, (g = { name: service, protocol: att.protocols.get(service) ?? '', shared: new Map(), chains: [] }));
    return g;
  };
  const nodeWide: ChainView[] = [];
  const foreignChains: string[] = [];
  let foreignRules = 0;

  for (const table of rs.tables) {
    const builtins = BUILTIN_CHAINS[table.name] ?? [];
    const implied =
      builtins.length > 0 && !table.chains.some((c) => builtins.includes(c.name)) && (table.name === 'filter' || table.name === 'nat');
    if (implied) {
      for (const b of builtins) {
        const rules = jumpRulesFor(table.name, b);
        if (rules.length > 0)
          nodeWide.push(
            view(ctx, {
              table: table.name,
              name: b,
              id: `${table.name} ${b}`,
              rank: 0,
              rules,
              owned: false,
              label: 'implied: the jumps kube-proxy ensures',
            }),
          );
      }
    }
    for (const chain of table.chains) {
      const owner = table.name === 'nat' ? att.chains.get(chain.name) : undefined;
      if (owner) {
        group(owner.service).chains.push({ name: chain.name, owner, rules: chain.rules });
        continue;
      }
      const id = `${table.name} ${chain.name}`;
      if (builtins.includes(chain.name)) {
        const ours = chain.rules.filter((r) => targetChain(r)?.startsWith('KUBE-') && !isOthersKubeChain(targetChain(r)!));
        foreignRules += chain.rules.length - ours.length;
        nodeWide.push(view(ctx, { table: table.name, name: chain.name, id, rank: 0, rules: ours, owned: false }));
        continue;
      }
      // kube-router (k3s) names its chains KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*: not kube-proxy's.
      if (!chain.name.startsWith('KUBE-') || isOthersKubeChain(chain.name)) {
        if (chain.rules.length > 0) foreignChains.push(`${table.name} ${chain.name}`);
        continue;
      }
      if (isShared(table.name, chain.name)) {
        const owners = att.shared.get(id) ?? [];
        const mine: Rule[] = [];
        const mineIdx: number[] = [];
        let lastService = -1;
        chain.rules.forEach((r, i) => {
          const s = owners[i];
          if (s === undefined) {
            mine.push(r);
            mineIdx.push(i);
            return;
          }
          lastService = i;
          const g = group(s);
          let slice = g.shared.get(id);
          if (!slice) g.shared.set(id, (slice = { chain: chain.name, rules: [] }));
          slice.rules.push(r);
        });
        // The NodePort dispatch in nat KUBE-SERVICES must come after every service rule; where
        // it stands among them is otherwise not visible once the chain is split by service.
        const misplaced = mine.map((r, i) =>
          table.name === 'nat' &&
          chain.name === 'KUBE-SERVICES' &&
          mineIdx[i]! < lastService &&
          (targetChain(r) === 'KUBE-NODEPORTS' || r.matches.some((m) => m.kind === 'comment' && isLastRuleComment(m.text)))
            ? lastService - mineIdx[i]!
            : 0,
        );
        nodeWide.push(
          view(ctx, {
            table: table.name,
            name: chain.name,
            id,
            rank: 1,
            rules: mine,
            owned: false,
            keySuffix: (i) => (misplaced[i] ? ' (before service rules)' : ''),
            textSuffix: (i) => (misplaced[i] ? `   # not last: ${misplaced[i]} service rules follow` : ''),
            extraRefs: misplaced.join(','),
          }),
        );
        continue;
      }
      const stale = !!roleOf(chain.name);
      nodeWide.push(
        view(ctx, {
          table: table.name,
          name: chain.name,
          id,
          rank: stale ? 3 : 2,
          rules: chain.rules,
          owned: true,
          label: stale ? 'no service port found for it' : undefined,
        }),
      );
    }
  }

  const services = new Map<string, ServiceView>();
  for (const g of groups.values()) services.set(g.name, serviceView(g, ctx, att.chains));

  const notes: string[] = [];
  if (foreignChains.length > 0) notes.push(notCompared(foreignChains, 'chain%s kube-proxy does not own'));
  if (foreignRules > 0)
    notes.push(`not compared: ${foreignRules} rule${foreignRules === 1 ? '' : 's'} in built-in chains that do not jump to a KUBE-* chain`);
  return { backend: 'iptables', family, services, nodeWide: nodeWide.filter((v) => v.size > 0), notes };
}

function serviceView(g: Group, ctx: ViewContext, owners: Map<string, ChainOwner>): ServiceView {
  const chains: ChainView[] = [];
  for (const [id, slice] of g.shared) {
    const table = id.slice(0, id.indexOf(' '));
    chains.push(view(ctx, { table, name: slice.chain, id, rank: SHARED_RANK[id] ?? 9, rules: slice.rules, owned: false }));
  }
  const unique = uniqueIds();
  for (const c of g.chains) {
    if (c.rules.length === 0) continue;
    const id = unique(c.owner.role === 'SEP' ? `nat SEP ${c.owner.endpoint ?? c.name}` : ROLE_ID[c.owner.role]);
    const label = c.owner.role === 'SEP' && c.owner.endpoint ? `endpoint ${c.owner.endpoint}` : undefined;
    chains.push(view(ctx, { table: 'nat', name: c.name, id, rank: ROLE_RANK[c.owner.role], rules: c.rules, owned: true, label }));
  }
  let summary: ServiceSummary | undefined;
  return {
    name: g.name,
    protocol: g.protocol,
    chains,
    summary: () =>
      (summary ??= summarizeIptables(
        {
          protocol: g.protocol,
          shared: new Map([...g.shared].map(([k, v]) => [k, v.rules])),
          chains: g.chains,
          ownerOf: (chain) => owners.get(chain),
        },
        formatMatch,
      )),
  };
}

const ROLE_ID: Record<Role, string> = { SVC: 'nat SVC', SVL: 'nat SVL', EXT: 'nat EXT', FW: 'nat FW', SEP: 'nat SEP' };

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
  const inner = a.apart;
  let set = inner.get(b);
  if (!set) {
    set = new Set();
    for (const name of a.owned.keys()) if (a.symbol(name) !== b.symbol(name)) set.add(name);
    for (const name of b.owned.keys()) if (!a.owned.has(name)) set.add(name);
    inner.set(b, set);
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
  keySuffix?: (i: number) => string;
  textSuffix?: (i: number) => string;
  /** Anything besides the rules and their references that the keys depend on. */
  extraRefs?: string;
}

class IptablesChainView implements ChainView {
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
    this.id = spec.id;
    this.table = spec.table;
    this.name = spec.name;
    this.rank = spec.rank;
    this.owned = spec.owned;
    this.size = spec.rules.length;
    if (spec.label) this.label = spec.label;
  }

  keys(): readonly string[] {
    const { family, symbol, run } = this.ctx;
    const suffix = this.spec.keySuffix;
    return (this.cached ??= this.spec.rules.map((r, i) => fillKey(normal(r, family, run), symbol) + (suffix?.(i) ?? '')));
  }

  text(i: number): string {
    return formatRule(this.name, this.spec.rules[i]!) + (this.spec.textSuffix?.(i) ?? '');
  }

  sameAs(other: ChainView): boolean {
    if (!(other instanceof IptablesChainView)) return false;
    const a = this.spec.rules;
    const b = other.spec.rules;
    if (a.length !== b.length || this.ctx.family !== other.ctx.family || (this.spec.extraRefs ?? '') !== (other.spec.extraRefs ?? ''))
      return false;
    if (a !== b) for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    // The same rules; their keys also hold what the chains they name resolve to.
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

function view(ctx: ViewContext, v: ViewSpec): ChainView {
  return new IptablesChainView(ctx, v);
}

function withoutDeleted(rs: IptablesRuleset): IptablesRuleset {
  if (rs.tables.every((t) => t.deleted.length === 0)) return rs;
  const tables: Table[] = rs.tables.map((t) => {
    if (t.deleted.length === 0) return t;
    const gone = new Set(t.deleted);
    const chains: Chain[] = t.chains.filter((c) => !gone.has(c.name));
    return { ...t, chains, deleted: [] };
  });
  return { ...rs, tables };
}
