// nftables IR → DiffSide. Which port owns each object is kube-proxy's vocabulary
// (kubeproxy/nftables-owners.ts); cluster-ips elements go to the ports whose destinations hold
// that address. Compared: the kube-proxy table of the side's family, whole. Element order is
// never a difference (a service's elements are compared as a sorted list); rule order is. Other
// tables (iptables-nft's, firewalld's, the other family's kube-proxy table) are left out with a note.
import type { Chain, Element, NftRuleset, NftSet, Table } from '../ir/nftables.js';
import { KUBE_PROXY_TABLE } from '../ir/nftables.js';
import { detectNftRelease } from '../kubeproxy/detect.js';
import { CLUSTER_IPS_SET, SERVICES_CHAIN, type NftOwner, type NftRole } from '../kubeproxy/nftables-names.js';
import { elementOwner, nftOwners } from '../kubeproxy/nftables-owners.js';
import { servicesClusterIPMasquerade, summarizeNftables } from '../kubeproxy/nftables-summary.js';
import { formatElement, formatExpr, formatRule } from '../emit/nftables.js';
import { canonicalAddress } from '../util/canonical.js';
import { baseChainKey, fillNft, normalizeElement, normalizeNftRule, setKey } from '../ir/nftables-key.js';
import { newDiffRun, type DiffRun } from './run.js';
import type { ChainView, DiffSide, Family, ServiceSummary, ServiceView } from './types.js';
import { cmp, linesView, notCompared, symbolizer, uniqueIds } from './views.js';

const MAP_RANK: Record<string, number> = {
  'cluster-ips': 0,
  'service-ips': 1,
  'service-nodeports': 2,
  'firewall-ips': 3,
  'no-endpoint-services': 4,
  'no-endpoint-nodeports': 5,
};
const ROLE_RANK: Record<NftRole, number> = { firewall: 10, external: 11, service: 12, local: 13, endpoint: 14, affinity: 15 };

export function nftablesSide(rs: NftRuleset, family: Family, run: DiffRun = newDiffRun()): DiffSide {
  const want = family === 'ipv6' ? 'ip6' : 'ip';
  const notes: string[] = [];
  const others = rs.tables.filter((t) => !(t.name === KUBE_PROXY_TABLE && t.family === want)).map((t) => `${t.family} ${t.name}`);
  if (others.length > 0) notes.push(notCompared(others, `table%s other than ${want} ${KUBE_PROXY_TABLE}`));
  const table = rs.tables.find((t) => t.name === KUBE_PROXY_TABLE && t.family === want);
  if (!table) return { backend: 'nftables', family, services: new Map(), nodeWide: [], notes };
  const release = detectNftRelease(table);
  return { ...buildSide(table, family, run), notes, ...(release ? { release } : {}) };
}

interface Group {
  name: string;
  protocol: string;
  elements: Map<string, Element[]>;
  chains: { chain: Chain; owner: NftOwner }[];
  sets: { set: NftSet; owner: NftOwner }[];
}

interface Ctx {
  prefix: string;
  symbol: (name: string) => string;
  run: DiffRun;
}

const push = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v]);

function buildSide(table: Table, family: Family, run: DiffRun): Omit<DiffSide, 'notes'> {
  const prefix = `${table.family} ${table.name}`;
  const owners = nftOwners(table);
  const groups = new Map<string, Group>();
  const group = (o: { service: string; protocol: string }): Group => {
    let g = groups.get(o.service);
    if (!g) groups.set(o.service, (g = { name: o.service, protocol: o.protocol, elements: new Map(), chains: [], sets: [] }));
    return g;
  };
  const nodeWide: ChainView[] = [];
  const ctx: Ctx = { prefix, symbol: symbolizer(owners), run };

  // Declarations that hold no service's data: node-wide, one line each.
  const decls: { key: string; text: string }[] = [];
  for (const s of table.sets) {
    const o = owners.get(s.name);
    if (o && o.role === 'affinity') group(o).sets.push({ set: s, owner: o });
    else
      decls.push({
        key: setKey(s),
        text: `add ${s.kind} ${prefix} ${s.name} { type ${s.keyType.join(' . ')}${s.dataType ? ` : ${s.dataType}` : ''} ;${s.flags?.length ? ` flags ${s.flags.join(',')} ;` : ''}${s.timeout !== undefined ? ` timeout ${s.timeout}s ;` : ''} }`,
      });
  }
  if (decls.length > 0)
    nodeWide.push(
      linesView(
        `${prefix} sets`,
        'declarations',
        'sets and maps',
        0,
        decls.sort((a, b) => cmp(a.key, b.key)),
        false,
      ),
    );

  // Elements: by their owner (kubeproxy/nftables-owners.ts), or (cluster-ips) by address.
  const loose = new Map<string, Element[]>();
  const addressesOf = new Map<string, Set<string>>();
  for (const s of table.sets) {
    if (owners.get(s.name)?.role === 'affinity' || s.name === CLUSTER_IPS_SET) continue;
    for (const e of s.elements) {
      const o = elementOwner(s.name, e, owners);
      if (!o) {
        push(loose, s.name, e);
        continue;
      }
      const g = group(o);
      push(g.elements, s.name, e);
      if (e.key.length === 3) {
        let set = addressesOf.get(e.key[0]!);
        if (!set) addressesOf.set(e.key[0]!, (set = new Set()));
        set.add(g.name);
      }
    }
  }
  const clusterIPs = table.sets.find((s) => s.name === CLUSTER_IPS_SET);
  for (const e of clusterIPs?.elements ?? []) {
    const holders = addressesOf.get(e.key[0]!);
    if (!holders || holders.size === 0) push(loose, CLUSTER_IPS_SET, e);
    else for (const name of holders) push(groups.get(name)!.elements, CLUSTER_IPS_SET, e);
  }
  for (const [set, elements] of loose) nodeWide.push(elementsView(ctx, set, elements, MAP_RANK[set] ?? 9, false));

  for (const c of table.chains) {
    const o = owners.get(c.name);
    if (o && o.role !== 'affinity') group(o).chains.push({ chain: c, owner: o });
    else nodeWide.push(chainView(ctx, `chain ${c.name}`, c, 20, true));
  }

  const servicesMasquerade = servicesClusterIPMasquerade(table.chains.find((c) => c.name === SERVICES_CHAIN)?.rules, formatExpr);
  const clusterIPSet = new Set((clusterIPs?.elements ?? []).map((e) => canonicalAddress(e.key[0]!)));
  const services = new Map<string, ServiceView>();
  for (const g of groups.values()) services.set(g.name, serviceView(g, ctx, owners, clusterIPSet, servicesMasquerade));
  return { backend: 'nftables', family, services, nodeWide: nodeWide.filter((v) => v.size > 0) };
}

function serviceView(
  g: Group,
  ctx: Ctx,
  owners: Map<string, NftOwner>,
  clusterIPs: Set<string>,
  servicesMasquerade: string | undefined,
): ServiceView {
  const chains: ChainView[] = [];
  for (const [set, elements] of g.elements) chains.push(elementsView(ctx, set, elements, MAP_RANK[set] ?? 9, false));
  const unique = uniqueIds();
  for (const { chain, owner } of g.chains) {
    const id = unique(owner.role === 'endpoint' ? `endpoint ${owner.endpoint ?? chain.name}` : owner.role);
    const v = chainView(ctx, id, chain, ROLE_RANK[owner.role], true);
    if (owner.endpoint) v.label = `endpoint ${owner.endpoint}`;
    chains.push(v);
  }
  for (const { set, owner } of g.sets) {
    // The per-endpoint affinity set: its timeout is the affinity timeout; its name is hashed.
    const text = `add set ${ctx.prefix} ${set.name} { type ${set.keyType.join(' . ')} ; flags ${(set.flags ?? []).join(',')} ; timeout ${set.timeout ?? 0}s ; }`;
    const id = unique(`affinity ${owner.endpoint ?? set.name}`);
    chains.push(linesView(id, ctx.prefix, set.name, ROLE_RANK.affinity, [{ key: setKey({ ...set, name: 'affinity' }), text }], true));
  }
  let summary: ServiceSummary | undefined;
  const read = () =>
    summarizeNftables(
      {
        protocol: g.protocol,
        elements: g.elements,
        chains: g.chains.map(({ chain, owner }) => ({ name: chain.name, role: owner.role, endpoint: owner.endpoint, rules: chain.rules })),
        affinityTimeout: g.sets.find((s) => s.set.timeout !== undefined)?.set.timeout,
        ownerOf: (name) => owners.get(name),
        clusterIPs,
        clusterIPMasquerade: servicesMasquerade,
      },
      formatExpr,
    );
  return { name: g.name, protocol: g.protocol, chains: chains.filter((c) => c.size > 0), summary: () => (summary ??= read()) };
}

function chainView(ctx: Ctx, id: string, c: Chain, rank: number, owned: boolean): ChainView {
  const b = c.base;
  const base = b
    ? [
        {
          key: `base ${baseChainKey(b)}`,
          text: `add chain ${ctx.prefix} ${c.name} { type ${b.type} hook ${b.hook} priority ${b.priority} ;${b.policy === 'drop' ? ' policy drop ;' : ''} }`,
        },
      ]
    : [];
  let keys: string[] | undefined;
  const ruleKey = (r: Chain['rules'][number]) => {
    let n = ctx.run.nftRules.get(r);
    if (!n) ctx.run.nftRules.set(r, (n = normalizeNftRule(r)));
    return fillNft(n, ctx.symbol);
  };
  return {
    id,
    table: ctx.prefix,
    name: c.name,
    rank,
    owned,
    size: base.length + c.rules.length,
    keys: () => (keys ??= [...base.map((x) => x.key), ...c.rules.map(ruleKey)]),
    text: (i) => (i < base.length ? base[i]!.text : `add rule ${ctx.prefix} ${c.name} ${formatRule(c.rules[i - base.length]!)}`),
  };
}

/** A set's or map's elements of one owner: compared as a sorted list, element order being no difference. */
function elementsView(ctx: Ctx, set: string, elements: Element[], rank: number, owned: boolean): ChainView {
  const items = elements
    .map((e) => {
      let n = ctx.run.nftElements.get(e);
      if (!n) ctx.run.nftElements.set(e, (n = normalizeElement(set, e)));
      return { key: fillNft(n, ctx.symbol), text: `add element ${ctx.prefix} ${set} ${formatElement(e)}` };
    })
    .sort((a, b) => cmp(a.key, b.key));
  return linesView(set, ctx.prefix, set, rank, items, owned);
}
