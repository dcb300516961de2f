// iptables IR → DiffSide: the adapter that turns one rule set (a compile or a node dump) into
// per-service chain views with comparison keys, and the node-wide rest.
//
// What is compared: every KUBE-* chain, and in the built-in chains the rules that jump to a
// KUBE-* chain. Chains other software owns (DOCKER, CNI, ...) and the rest of the built-in
// chains are left out, with a note. A chain with no rules is the same as no chain. A rule set
// without built-in chains (a restore payload, as ktables compile and kube-proxy write it) is
// read as having the jump rules kube-proxy ensures before each sync.
import { BUILTIN_CHAINS, targetChain } from '../ir/iptables.js';
import type { Chain, IptablesRuleset, Rule, Table } from '../ir/iptables.js';
import { formatRule } from '../emit/iptables.js';
import { jumpRulesFor } from '../backends/iptables/jumps.js';
import { attribute, isShared, roleOf, type ChainOwner, type Role } from './attribute.js';
import { fillKey, normalizeRule, type NormalRule } from './normalize.js';
import { summarizeIptables, type IptablesServiceRules } from './summarize.js';
import type { ChainView, DiffSide, Family, ServiceSummary, ServiceView } from './types.js';

const normalCache: Record<Family, WeakMap<Rule, NormalRule>> = { ipv4: new WeakMap(), ipv6: new WeakMap() };

function normal(rule: Rule, family: Family): NormalRule {
  const cache = normalCache[family];
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

const LAST_RULE_MARKER = 'must be the last rule';

interface Group {
  name: string;
  protocol: string;
  shared: Map<string, { chain: string; rules: Rule[] }>;
  chains: { name: string; owner: ChainOwner; rules: Rule[] }[];
}

export function iptablesSide(input: IptablesRuleset): DiffSide {
  const family: Family = input.family;
  const rs = withoutDeleted(input);
  const att = attribute(rs);
  const symbol = (chain: string): string => {
    const o = att.chains.get(chain);
    if (!o) return chain;
    return o.endpoint ? `${o.role}(${o.service} ${o.endpoint})` : `${o.role}(${o.service})`;
  };
  const keysOf = (rules: Rule[], extra?: (i: number) => string) => rules.map((r, i) => fillKey(normal(r, family), symbol) + (extra?.(i) ?? ''));

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
    const implied = builtins.length > 0 && !table.chains.some((c) => builtins.includes(c.name)) && (table.name === 'filter' || table.name === 'nat');
    if (implied) {
      for (const b of builtins) {
        const rules = jumpRulesFor(table.name, b);
        if (rules.length > 0) nodeWide.push(view(table.name, b, `${table.name} ${b}`, 0, rules, keysOf(rules), false, 'implied: the jumps kube-proxy ensures'));
      }
    }
    for (const chain of table.chains) {
      const id = `${table.name} ${chain.name}`;
      if (builtins.includes(chain.name)) {
        const ours = chain.rules.filter((r) => targetChain(r)?.startsWith('KUBE-'));
        foreignRules += chain.rules.length - ours.length;
        nodeWide.push(view(table.name, chain.name, id, 0, ours, keysOf(ours), false));
        continue;
      }
      if (!chain.name.startsWith('KUBE-')) {
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
        const misplaced = (i: number) =>
          table.name === 'nat' && chain.name === 'KUBE-SERVICES' && mineIdx[i]! < lastService && (mine[i]!.matches.some((m) => m.kind === 'comment' && m.text.includes(LAST_RULE_MARKER)) || targetChain(mine[i]!) === 'KUBE-NODEPORTS')
            ? ' (before service rules)'
            : '';
        const keys = keysOf(mine, (i) => misplaced(i));
        nodeWide.push(view(table.name, chain.name, id, 1, mine, keys, false, undefined, (i) => misplaced(i) && `   # not last: ${lastService - mineIdx[i]!} service rules follow`));
        continue;
      }
      const owner = table.name === 'nat' && roleOf(chain.name) ? att.chains.get(chain.name) : undefined;
      if (owner) group(owner.service).chains.push({ name: chain.name, owner, rules: chain.rules });
      else nodeWide.push(view(table.name, chain.name, id, roleOf(chain.name) ? 3 : 2, chain.rules, keysOf(chain.rules), true, roleOf(chain.name) ? 'no service port found for it' : undefined));
    }
  }

  const services = new Map<string, ServiceView>();
  for (const g of groups.values()) services.set(g.name, serviceView(g, family, keysOf, att.chains));

  const notes: string[] = [];
  if (foreignChains.length > 0) {
    const shown = foreignChains.slice(0, 5).join(', ');
    notes.push(`not compared: ${foreignChains.length} chain${foreignChains.length === 1 ? '' : 's'} kube-proxy does not own (${shown}${foreignChains.length > 5 ? ', ...' : ''})`);
  }
  if (foreignRules > 0) notes.push(`not compared: ${foreignRules} rule${foreignRules === 1 ? '' : 's'} in built-in chains that do not jump to a KUBE-* chain`);
  return { backend: 'iptables', family, services, nodeWide: nodeWide.filter((v) => v.keys.length > 0), notes };
}

function serviceView(g: Group, family: Family, keysOf: (rules: Rule[]) => string[], owners: Map<string, ChainOwner>): ServiceView {
  const chains: ChainView[] = [];
  for (const [id, slice] of g.shared) {
    const table = id.slice(0, id.indexOf(' '));
    chains.push(view(table, slice.chain, id, SHARED_RANK[id] ?? 9, slice.rules, keysOf(slice.rules), false));
  }
  const seen = new Map<string, number>();
  for (const c of g.chains) {
    if (c.rules.length === 0) continue;
    const base = c.owner.role === 'SEP' ? `nat SEP ${c.owner.endpoint ?? c.name}` : `nat ${c.owner.role}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const id = n === 1 ? base : `${base} #${n}`;
    const label = c.owner.role === 'SEP' && c.owner.endpoint ? `endpoint ${c.owner.endpoint}` : undefined;
    chains.push(view('nat', c.name, id, ROLE_RANK[c.owner.role], c.rules, keysOf(c.rules), true, label));
  }
  let summary: ServiceSummary | undefined;
  const rules: IptablesServiceRules = {
    protocol: g.protocol,
    shared: new Map([...g.shared].map(([k, v]) => [k, v.rules])),
    chains: g.chains,
    ownerOf: (chain) => owners.get(chain),
  };
  return {
    name: g.name,
    protocol: g.protocol,
    chains: chains.filter((c) => c.keys.length > 0),
    summary: () => (summary ??= summarizeIptables(rules)),
  };
}

function view(
  table: string,
  name: string,
  id: string,
  rank: number,
  rules: Rule[],
  keys: string[],
  owned: boolean,
  label?: string,
  suffix?: (i: number) => string | false,
): ChainView {
  const v: ChainView = {
    id,
    table,
    name,
    rank,
    keys,
    owned,
    text: (i) => formatRule(name, rules[i]!) + (suffix?.(i) || ''),
  };
  if (label) v.label = label;
  return v;
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
