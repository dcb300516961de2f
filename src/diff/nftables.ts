// nftables IR → DiffSide: kube-proxy's table split by service port (kubeproxy/nftables-ports.ts)
// becomes views keyed by the comparison keys of ir/nftables-key.ts. Compared: the kube-proxy
// table of the side's family, whole. Element order is never a difference (a service's elements
// are compared as a sorted list); rule order is. Other tables (iptables-nft's, firewalld's, the
// other family's kube-proxy table) are left out with a note.
import type { Chain, Element, NftRuleset, Table } from '../ir/nftables.js';
import { KUBE_PROXY_TABLE } from '../ir/nftables.js';
import { detectNftRelease } from '../kubeproxy/detect.js';
import * as names from '../kubeproxy/nftables-names.js';
import { nftPorts, type NftPort } from '../kubeproxy/nftables-ports.js';
import { summarizeNftables } from '../kubeproxy/nftables-summary.js';
import { formatElement, formatExpr, formatRule } from '../emit/nftables.js';
import { baseChainKey, fillNft, normalizeElement, normalizeNftRule, setKey } from '../ir/nftables-key.js';
import { newDiffRun, type DiffRun } from './run.js';
import type { ChainView, DiffSide, ServiceSummary, ServiceView } from './types.js';
import type { Family } from '../util/ip.js';
import { cmp, linesView, notCompared, symbolizer, uniqueIds } from './views.js';

const MAP_RANK: Record<string, number> = {
  [names.CLUSTER_IPS_SET]: 0,
  [names.SERVICE_IPS_MAP]: 1,
  [names.SERVICE_NODEPORTS_MAP]: 2,
  [names.FIREWALL_IPS_MAP]: 3,
  [names.NO_ENDPOINT_SERVICES_MAP]: 4,
  [names.NO_ENDPOINT_NODEPORTS_MAP]: 5,
};
const ROLE_RANK: Record<names.NftRole, number> = { firewall: 10, external: 11, service: 12, local: 13, endpoint: 14, affinity: 15 };

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

interface Ctx {
  prefix: string;
  symbol: (name: string) => string;
  run: DiffRun;
}

function buildSide(table: Table, family: Family, run: DiffRun): Omit<DiffSide, 'notes'> {
  const split = nftPorts(table, formatExpr);
  const ctx: Ctx = { prefix: `${table.family} ${table.name}`, symbol: symbolizer(split.owners), run };
  // Declarations that hold no service's data: node-wide, one line each.
  const decls = split.sets.map((s) => ({
    key: setKey(s),
    text: `add ${s.kind} ${ctx.prefix} ${s.name} { type ${s.keyType.join(' . ')}${s.dataType ? ` : ${s.dataType}` : ''} ;${s.flags?.length ? ` flags ${s.flags.join(',')} ;` : ''}${s.timeout !== undefined ? ` timeout ${s.timeout}s ;` : ''} }`,
  }));
  decls.sort((a, b) => cmp(a.key, b.key));
  const nodeWide: ChainView[] = [linesView(`${ctx.prefix} sets`, 'declarations', 'sets and maps', 0, decls, false)];
  for (const [set, elements] of split.elements) nodeWide.push(elementsView(ctx, set, elements));
  for (const c of split.chains) nodeWide.push(chainView(ctx, `chain ${c.name}`, c, 20));
  const services = new Map<string, ServiceView>();
  for (const p of split.ports.values()) services.set(p.name, serviceView(p, ctx));
  return { backend: 'nftables', family, services, nodeWide: nodeWide.filter((v) => v.size > 0) };
}

function serviceView(p: NftPort, ctx: Ctx): ServiceView {
  const chains: ChainView[] = [];
  for (const [set, elements] of p.elements) chains.push(elementsView(ctx, set, elements));
  const unique = uniqueIds();
  for (const c of p.chains) {
    const v = chainView(ctx, unique(c.role === 'endpoint' ? `endpoint ${c.endpoint ?? c.name}` : c.role), c.chain, ROLE_RANK[c.role]);
    if (c.endpoint) v.label = `endpoint ${c.endpoint}`;
    chains.push(v);
  }
  for (const { set, owner } of p.sets) {
    // The per-endpoint affinity set: its timeout is the affinity timeout; its name is hashed.
    const text = `add set ${ctx.prefix} ${set.name} { type ${set.keyType.join(' . ')} ; flags ${(set.flags ?? []).join(',')} ; timeout ${set.timeout ?? 0}s ; }`;
    const id = unique(`affinity ${owner.endpoint ?? set.name}`);
    chains.push(linesView(id, ctx.prefix, set.name, ROLE_RANK.affinity, [{ key: setKey({ ...set, name: 'affinity' }), text }], true));
  }
  let summary: ServiceSummary | undefined;
  return {
    name: p.name,
    protocol: p.protocol,
    chains: chains.filter((c) => c.size > 0),
    summary: () => (summary ??= summarizeNftables(p, formatExpr)),
  };
}

function chainView(ctx: Ctx, id: string, c: Chain, rank: number): ChainView {
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
    owned: true,
    size: base.length + c.rules.length,
    keys: () => (keys ??= [...base.map((x) => x.key), ...c.rules.map(ruleKey)]),
    text: (i) => (i < base.length ? base[i]!.text : `add rule ${ctx.prefix} ${c.name} ${formatRule(c.rules[i - base.length]!)}`),
  };
}

/** A set's or map's elements of one owner: compared as a sorted list, element order being no difference. */
function elementsView(ctx: Ctx, set: string, elements: Element[]): ChainView {
  const items = elements
    .map((e) => {
      let n = ctx.run.nftElements.get(e);
      if (!n) ctx.run.nftElements.set(e, (n = normalizeElement(set, e)));
      return { key: fillNft(n, ctx.symbol), text: `add element ${ctx.prefix} ${set} ${formatElement(e)}` };
    })
    .sort((a, b) => cmp(a.key, b.key));
  return linesView(set, ctx.prefix, set, MAP_RANK[set] ?? 9, items, false);
}
