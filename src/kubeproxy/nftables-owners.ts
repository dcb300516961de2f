// Which service port each of kube-proxy's nftables objects belongs to. Chains and sets carry
// their port in their names (nftables-names.ts); a name too long (truncated with "...") is
// attributed through the rules that reach it instead. Map elements go by the chain they lead to
// (service-ips, service-nodeports, firewall-ips) or by their comment (no-endpoint-services,
// no-endpoint-nodeports, which name the port).
import type { Element, Rule, Table } from '../ir/nftables.js';
import { canonicalHostPort } from '../util/canonical.js';
import { nftOwner, nftRoleOf, PORT_CHAIN_MAPS, PORT_COMMENT_MAPS, type NftOwner } from './nftables-names.js';

function verdictTargets(r: Rule): string[] {
  const out: string[] = [];
  const v = r.verdict;
  if (v && (v.kind === 'jump' || v.kind === 'goto')) out.push(v.chain);
  if (v?.kind === 'numgen')
    for (const e of v.entries) if (e.verdict.kind === 'jump' || e.verdict.kind === 'goto') out.push(e.verdict.chain);
  for (const e of r.exprs) if (e.kind === 'lookup' || e.kind === 'setUpdate') out.push(e.set);
  return out;
}

/** Where an endpoint chain's DNAT sends packets (canonical ip:port). */
function dnatOf(rules: Rule[] | undefined): string | undefined {
  const v = rules?.find((r) => r.verdict?.kind === 'dnat')?.verdict;
  return v?.kind === 'dnat' ? canonicalHostPort(v.to) : undefined;
}

/** The owner of every per-service chain and set of a kube-proxy table, by name. */
export function nftOwners(table: Table): Map<string, NftOwner> {
  const owners = new Map<string, NftOwner>();
  const chains = new Map(table.chains.map((c) => [c.name, c]));
  for (const c of table.chains) {
    const o = nftOwner(c.name);
    if (!o) continue;
    const endpoint = o.role === 'endpoint' ? dnatOf(c.rules) : undefined;
    if (endpoint) o.endpoint = endpoint;
    owners.set(c.name, o);
  }
  for (const s of table.sets) {
    const o = nftOwner(s.name);
    if (o) owners.set(s.name, o);
  }
  // Truncated names: whatever an owned chain reaches belongs to the same port.
  const queue = [...owners.keys()].filter((n) => chains.has(n));
  while (queue.length > 0) {
    const name = queue.pop()!;
    const from = owners.get(name)!;
    for (const r of chains.get(name)!.rules) {
      for (const t of verdictTargets(r)) {
        const role = owners.has(t) ? undefined : nftRoleOf(t);
        if (!role) continue;
        const o: NftOwner = { service: from.service, role, protocol: from.protocol };
        const endpoint = dnatOf(chains.get(t)?.rules);
        if (endpoint) o.endpoint = endpoint;
        owners.set(t, o);
        if (chains.has(t)) queue.push(t);
      }
    }
  }
  return owners;
}

/** The port an element of map `set` belongs to: by the chain it leads to, or by its comment. */
export function elementOwner(set: string, e: Element, owners: Map<string, NftOwner>): { service: string; protocol: string } | undefined {
  if (PORT_CHAIN_MAPS.has(set) && e.value && (e.value.kind === 'goto' || e.value.kind === 'jump')) {
    const o = owners.get(e.value.chain);
    if (o) return o;
  }
  if (PORT_COMMENT_MAPS.has(set) && e.comment) return { service: e.comment, protocol: e.key.length >= 2 ? e.key[e.key.length - 2]! : '' };
  return undefined;
}
