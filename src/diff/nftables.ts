// nftables IR → DiffSide, the second adapter behind the backend-neutral form (types.ts).
//
// kube-proxy's nftables objects carry the service port in their names:
// service-HASH-ns/name/proto/port, local-, external-, firewall-, and per endpoint
// endpoint-HASH-ns/name/proto/port__ip/port (IPv6 colons as dots) with its affinity- set. A
// name too long (truncated with "...") is attributed through the rules that reach it instead.
// Map elements go by the chain they lead to (service-ips, service-nodeports, firewall-ips) or
// by their comment (no-endpoint-services, no-endpoint-nodeports, which name the port);
// cluster-ips elements by the port whose destinations hold that address.
//
// Compared: the kube-proxy table of the side's family, whole. Element order is never a
// difference (a service's elements are compared as a sorted list); rule order is. Other tables
// (iptables-nft's, firewalld's, the other family's kube-proxy table) are left out with a note.
import type { Chain, Element, NftRuleset, NftSet, Rule, Table } from '../ir/nftables.js';
import { KUBE_PROXY_TABLE } from '../ir/nftables.js';
import { detectNftRelease } from '../kubeproxy/detect.js';
import { formatElement, formatRule } from '../emit/nftables.js';
import { canonicalAddress, canonicalHostPort } from './normalize.js';
import { baseChainKey, fillNft, normalizeElement, normalizeNftRule, setKey } from './normalize-nftables.js';
import { servicesClusterIPMasquerade, summarizeNftables, type NftRole, type NftServiceRules } from './summarize-nftables.js';
import { newDiffRun, type DiffRun } from './run.js';
import type { ChainView, DiffSide, Family, ServiceSummary, ServiceView } from './types.js';

interface NftOwner {
  service: string;
  role: NftRole;
  protocol: string;
  endpoint?: string;
}

const PORT_NAME = /^(service|local|external|firewall)-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/([a-z]+)\/(.*)$/;
const ENDPOINT_NAME = /^(endpoint|affinity)-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/([a-z]+)\/([^/]*?)__(.+)\/(\d+)$/;

const portName = (ns: string, name: string, port: string) => (port ? `${ns}/${name}:${port}` : `${ns}/${name}`);

/** What an object's name says about its owner, unless the name was truncated. */
function ownerFromName(name: string): NftOwner | undefined {
  if (name.endsWith('...')) return undefined;
  const p = PORT_NAME.exec(name);
  if (p) return { service: portName(p[2]!, p[3]!, p[5]!), role: p[1] as NftRole, protocol: p[4]! };
  const e = ENDPOINT_NAME.exec(name);
  if (!e) return undefined;
  // kube-proxy writes an IPv6 endpoint's colons as dots; four dot-separated decimals are IPv4.
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(e[6]!) ? e[6]! : e[6]!.replaceAll('.', ':');
  const endpoint = canonicalHostPort(ip.includes(':') ? `[${ip}]:${e[7]}` : `${ip}:${e[7]}`);
  return { service: portName(e[2]!, e[3]!, e[5]!), role: e[1] as NftRole, protocol: e[4]!, endpoint };
}

function verdictTargets(r: Rule): string[] {
  const out: string[] = [];
  const v = r.verdict;
  if (v && (v.kind === 'jump' || v.kind === 'goto')) out.push(v.chain);
  if (v?.kind === 'numgen')
    for (const e of v.entries) if (e.verdict.kind === 'jump' || e.verdict.kind === 'goto') out.push(e.verdict.chain);
  for (const e of r.exprs) if (e.kind === 'lookup' || e.kind === 'setUpdate') out.push(e.set);
  return out;
}

const MAP_RANK: Record<string, number> = {
  'cluster-ips': 0,
  'service-ips': 1,
  'service-nodeports': 2,
  'firewall-ips': 3,
  'no-endpoint-services': 4,
  'no-endpoint-nodeports': 5,
};
const ROLE_RANK: Record<NftRole, number> = { firewall: 10, external: 11, service: 12, local: 13, endpoint: 14, affinity: 15 };
// Per-service maps whose elements lead to the service's chains, and those naming it in comments.
const CHAIN_MAPS = new Set(['service-ips', 'service-nodeports', 'firewall-ips']);
const COMMENT_MAPS = new Set(['no-endpoint-services', 'no-endpoint-nodeports']);

export function nftablesSide(rs: NftRuleset, family: Family, run: DiffRun = newDiffRun()): DiffSide {
  const want = family === 'ipv6' ? 'ip6' : 'ip';
  const notes: string[] = [];
  const others = rs.tables.filter((t) => !(t.name === KUBE_PROXY_TABLE && t.family === want)).map((t) => `${t.family} ${t.name}`);
  if (others.length > 0)
    notes.push(
      `not compared: ${others.length} table${others.length === 1 ? '' : 's'} other than ${want} ${KUBE_PROXY_TABLE} (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''})`,
    );
  const table = rs.tables.find((t) => t.name === KUBE_PROXY_TABLE && t.family === want);
  const services = new Map<string, ServiceView>();
  if (!table) return { backend: 'nftables', family, services, nodeWide: [], notes };
  const release = detectNftRelease(table);
  return { ...buildSide(table, family, services, run), notes, ...(release ? { release } : {}) };
}

interface Group {
  name: string;
  protocol: string;
  elements: Map<string, Element[]>;
  chains: { chain: Chain; owner: NftOwner }[];
  sets: { set: NftSet; owner: NftOwner }[];
}

function buildSide(table: Table, family: Family, services: Map<string, ServiceView>, run: DiffRun): Omit<DiffSide, 'notes'> {
  const prefix = `${table.family} ${table.name}`;
  const owners = new Map<string, NftOwner>();
  const chains = new Map(table.chains.map((c) => [c.name, c]));
  for (const c of table.chains) {
    const o = ownerFromName(c.name);
    if (o) {
      const dnat = c.rules.find((r) => r.verdict?.kind === 'dnat');
      if (o.role === 'endpoint' && dnat?.verdict?.kind === 'dnat') o.endpoint = canonicalHostPort(dnat.verdict.to);
      owners.set(c.name, o);
    }
  }
  for (const s of table.sets) {
    const o = ownerFromName(s.name);
    if (o) owners.set(s.name, o);
  }
  // Truncated names: whatever an owned chain reaches belongs to the same port.
  const queue = [...owners.keys()].filter((n) => chains.has(n));
  while (queue.length > 0) {
    const name = queue.pop()!;
    const from = owners.get(name)!;
    for (const r of chains.get(name)!.rules) {
      for (const t of verdictTargets(r)) {
        if (owners.has(t)) continue;
        const role = /^(service|local|external|firewall|endpoint|affinity)-/.exec(t)?.[1] as NftRole | undefined;
        if (!role) continue;
        const o: NftOwner = { service: from.service, role, protocol: from.protocol };
        const dnat = chains.get(t)?.rules.find((x) => x.verdict?.kind === 'dnat');
        if (dnat?.verdict?.kind === 'dnat') o.endpoint = canonicalHostPort(dnat.verdict.to);
        owners.set(t, o);
        if (chains.has(t)) queue.push(t);
      }
    }
  }

  const symbols = new Map<string, string>();
  const symbol = (name: string) => {
    let s = symbols.get(name);
    if (s === undefined) {
      const o = owners.get(name);
      s = !o ? name : o.endpoint ? `${o.role}(${o.service} ${o.endpoint})` : `${o.role}(${o.service})`;
      symbols.set(name, s);
    }
    return s;
  };

  const groups = new Map<string, Group>();
  const group = (o: { service: string; protocol: string }): Group => {
    let g = groups.get(o.service);
    if (!g) groups.set(o.service, (g = { name: o.service, protocol: o.protocol, elements: new Map(), chains: [], sets: [] }));
    return g;
  };
  const nodeWide: ChainView[] = [];
  const ctx: Ctx = { prefix, symbol, run };

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
      lines(
        `${prefix} sets`,
        'declarations',
        'sets and maps',
        0,
        decls.sort((a, b) => cmp(a.key, b.key)),
        false,
      ),
    );

  // Elements: by the chain they lead to, by their comment, or (cluster-ips) by address.
  const loose = new Map<string, Element[]>();
  const addressesOf = new Map<string, Set<string>>();
  for (const s of table.sets) {
    if (owners.get(s.name)?.role === 'affinity' || s.name === 'cluster-ips') continue;
    for (const e of s.elements) {
      let o: { service: string; protocol: string } | undefined;
      if (CHAIN_MAPS.has(s.name) && e.value && (e.value.kind === 'goto' || e.value.kind === 'jump')) o = owners.get(e.value.chain);
      if (!o && COMMENT_MAPS.has(s.name) && e.comment)
        o = { service: e.comment, protocol: e.key.length >= 2 ? e.key[e.key.length - 2]! : '' };
      if (!o) {
        loose.set(s.name, [...(loose.get(s.name) ?? []), e]);
        continue;
      }
      const g = group(o);
      g.elements.set(s.name, [...(g.elements.get(s.name) ?? []), e]);
      if (e.key.length === 3) {
        let set = addressesOf.get(e.key[0]!);
        if (!set) addressesOf.set(e.key[0]!, (set = new Set()));
        set.add(g.name);
      }
    }
  }
  const clusterIPs = table.sets.find((s) => s.name === 'cluster-ips');
  for (const e of clusterIPs?.elements ?? []) {
    const holders = addressesOf.get(e.key[0]!);
    if (!holders || holders.size === 0) {
      loose.set('cluster-ips', [...(loose.get('cluster-ips') ?? []), e]);
      continue;
    }
    for (const name of holders) {
      const g = groups.get(name)!;
      g.elements.set('cluster-ips', [...(g.elements.get('cluster-ips') ?? []), e]);
    }
  }
  for (const [set, elements] of loose) nodeWide.push(elementsView(ctx, set, elements, MAP_RANK[set] ?? 9, false));

  for (const c of table.chains) {
    const o = owners.get(c.name);
    if (o && o.role !== 'affinity') group(o).chains.push({ chain: c, owner: o });
    else nodeWide.push(chainView(ctx, `chain ${c.name}`, c, 20, true));
  }

  const servicesMasquerade = servicesClusterIPMasquerade(chains.get('services')?.rules);
  for (const g of groups.values()) services.set(g.name, serviceView(g, ctx, owners, family, clusterIPs, servicesMasquerade));
  return { backend: 'nftables', family, services, nodeWide: nodeWide.filter((v) => v.size > 0) };
}

interface Ctx {
  prefix: string;
  symbol: (name: string) => string;
  run: DiffRun;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function serviceView(
  g: Group,
  ctx: Ctx,
  owners: Map<string, NftOwner>,
  family: Family,
  clusterIPs: NftSet | undefined,
  servicesMasquerade: string | undefined,
): ServiceView {
  const chains: ChainView[] = [];
  for (const [set, elements] of g.elements) chains.push(elementsView(ctx, set, elements, MAP_RANK[set] ?? 9, false));
  const seen = new Map<string, number>();
  const unique = (id: string) => {
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    return n === 1 ? id : `${id} #${n}`;
  };
  for (const { chain, owner } of g.chains) {
    const id = unique(owner.role === 'endpoint' ? `endpoint ${owner.endpoint ?? chain.name}` : owner.role);
    const v = chainView(ctx, id, chain, ROLE_RANK[owner.role], true);
    if (owner.endpoint) v.label = `endpoint ${owner.endpoint}`;
    chains.push(v);
  }
  for (const { set, owner } of g.sets) {
    // The per-endpoint affinity set: its timeout is the affinity timeout; its name is hashed.
    const key = setKey({ ...set, name: 'affinity' });
    chains.push(
      lines(
        unique(`affinity ${owner.endpoint ?? set.name}`),
        ctx.prefix,
        set.name,
        ROLE_RANK.affinity,
        [
          {
            key,
            text: `add set ${ctx.prefix} ${set.name} { type ${set.keyType.join(' . ')} ; flags ${(set.flags ?? []).join(',')} ; timeout ${set.timeout ?? 0}s ; }`,
          },
        ],
        true,
      ),
    );
  }
  let summary: ServiceSummary | undefined;
  const rules: NftServiceRules = {
    protocol: g.protocol,
    family,
    elements: g.elements,
    chains: g.chains.map(({ chain, owner }) => ({ name: chain.name, role: owner.role, endpoint: owner.endpoint, rules: chain.rules })),
    affinityTimeout: g.sets.find((s) => s.set.timeout !== undefined)?.set.timeout,
    ownerOf: (name) => owners.get(name),
    clusterIPs: new Set((clusterIPs?.elements ?? []).map((e) => canonicalAddress(e.key[0]!))),
    clusterIPMasquerade: servicesMasquerade,
  };
  return {
    name: g.name,
    protocol: g.protocol,
    chains: chains.filter((c) => c.size > 0),
    summary: () => (summary ??= summarizeNftables(rules)),
  };
}

function chainView(ctx: Ctx, id: string, c: Chain, rank: number, owned: boolean): ChainView {
  const base = c.base
    ? [
        {
          key: `base ${baseChainKey(c.base)}`,
          text: `add chain ${ctx.prefix} ${c.name} { type ${c.base.type} hook ${c.base.hook} priority ${c.base.priority} ;${c.base.policy === 'drop' ? ' policy drop ;' : ''} }`,
        },
      ]
    : [];
  let keys: string[] | undefined;
  return {
    id,
    table: ctx.prefix,
    name: c.name,
    rank,
    owned,
    size: base.length + c.rules.length,
    keys: () =>
      (keys ??= [
        ...base.map((b) => b.key),
        ...c.rules.map((r) => {
          let n = ctx.run.nftRules.get(r);
          if (!n) ctx.run.nftRules.set(r, (n = normalizeNftRule(r)));
          return fillNft(n, ctx.symbol);
        }),
      ]),
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
  return lines(set, ctx.prefix, set, rank, items, owned);
}

function lines(id: string, table: string, name: string, rank: number, items: { key: string; text: string }[], owned: boolean): ChainView {
  const keys = items.map((i) => i.key);
  return { id, table, name, rank, owned, size: items.length, keys: () => keys, text: (i) => items[i]!.text };
}
