// kube-proxy's nftables table split by service port: each port's chains, affinity sets and map
// elements (nftables-owners.ts says whose each is), and the node-wide rest. A cluster-ips element
// goes to the ports whose destinations hold that address.
import type { Chain, Element, Expr, NftSet, Table } from '../ir/nftables.js';
import { canonicalAddress } from '../util/canonical.js';
import { CLUSTER_IPS_SET, SERVICES_CHAIN, type NftOwner } from './nftables-names.js';
import { elementOwner, nftOwners } from './nftables-owners.js';
import { servicesClusterIPMasquerade, type NftServiceRules } from './nftables-summary.js';

export interface NftPort extends NftServiceRules {
  /** kube-proxy's service port name: `ns/name` or `ns/name:port`. */
  name: string;
  chains: (NftServiceRules['chains'][number] & { chain: Chain })[];
  /** The per-endpoint ClientIP affinity sets. */
  sets: { set: NftSet; owner: NftOwner }[];
}

export interface NftPorts {
  ports: Map<string, NftPort>;
  /** The per-service objects of the table and their owners. */
  owners: Map<string, NftOwner>;
  /** Sets and maps no port owns (declarations only). */
  sets: NftSet[];
  /** Elements no port owns, by set. */
  elements: Map<string, Element[]>;
  /** Chains no port owns. */
  chains: Chain[];
}

// In place: a set's unowned elements can number in the ten thousands (copying was quadratic).
const push = <T>(m: Map<string, T[]>, k: string, v: T) => {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
};

/** `describe`: how an expression reads (the emitter's spelling), for the summaries' masquerade. */
export function nftPorts(table: Table, describe: (x: Expr) => string): NftPorts {
  const owners = nftOwners(table);
  const clusterIPs = table.sets.find((s) => s.name === CLUSTER_IPS_SET);
  const shared = {
    ownerOf: (name: string) => owners.get(name),
    clusterIPs: new Set((clusterIPs?.elements ?? []).map((e) => canonicalAddress(e.key[0]!))),
    clusterIPMasquerade: servicesClusterIPMasquerade(table.chains.find((c) => c.name === SERVICES_CHAIN)?.rules, describe),
  };
  const ports = new Map<string, NftPort>();
  const port = (o: { service: string; protocol: string }): NftPort => {
    let p = ports.get(o.service);
    if (!p)
      ports.set(
        o.service,
        (p = { name: o.service, protocol: o.protocol, elements: new Map(), chains: [], sets: [], affinityTimeout: undefined, ...shared }),
      );
    return p;
  };
  const out: NftPorts = { ports, owners, sets: [], elements: new Map(), chains: [] };

  for (const s of table.sets) {
    const o = owners.get(s.name);
    if (o?.role === 'affinity') port(o).sets.push({ set: s, owner: o });
    else out.sets.push(s);
  }
  const addressesOf = new Map<string, Set<string>>();
  for (const s of table.sets) {
    if (owners.get(s.name)?.role === 'affinity' || s.name === CLUSTER_IPS_SET) continue;
    for (const e of s.elements) {
      const o = elementOwner(s.name, e, owners);
      if (!o) {
        push(out.elements, s.name, e);
        continue;
      }
      const p = port(o);
      push(p.elements, s.name, e);
      if (e.key.length === 3) addressesOf.set(e.key[0]!, (addressesOf.get(e.key[0]!) ?? new Set()).add(p.name));
    }
  }
  for (const e of clusterIPs?.elements ?? []) {
    const holders = addressesOf.get(e.key[0]!);
    if (!holders || holders.size === 0) push(out.elements, CLUSTER_IPS_SET, e);
    else for (const name of holders) push(ports.get(name)!.elements, CLUSTER_IPS_SET, e);
  }
  for (const c of table.chains) {
    const o = owners.get(c.name);
    if (o && o.role !== 'affinity') port(o).chains.push({ name: c.name, role: o.role, endpoint: o.endpoint, rules: c.rules, chain: c });
    else out.chains.push(c);
  }
  for (const p of ports.values()) p.affinityTimeout = p.sets.find((s) => s.set.timeout !== undefined)?.set.timeout;
  return out;
}
