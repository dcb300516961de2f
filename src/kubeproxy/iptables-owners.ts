// Which service port each of kube-proxy's iptables chains and rules belongs to, found from the
// rules alone so it works the same on a compile and on a node's iptables-save.
//
// kube-proxy's per-service chains are named by a hash (KUBE-SVC-<hash of "ns/name:port" +
// protocol>, KUBE-SEP-<hash of that + endpoint>), so the name says nothing by itself. Three
// sources, in order of trust:
//  1. the comments in a chain's own rules ("ns/svc:p80 cluster IP", "masquerade traffic for
//     ns/svc:p80 external destinations", a bare "ns/svc:p80" on SEP rules);
//  2. the rules that jump to it: a KUBE-SERVICES rule for ns/svc:p80 jumps to its SVC chain,
//     which jumps to its SEP chains. This is what attributes the endpoint chains of large
//     clusters, where kube-proxy leaves comments off endpoint rules;
//  3. for a chain nothing points to and nothing names (a stale chain), recomputing the hash
//     from the service names seen elsewhere in the rule set.
// Rules of the shared chains (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES,
// KUBE-PROXY-FIREWALL) go by their comment's service name, else by the chain they jump to.
import type { Chain, IptablesRuleset, Rule } from '../ir/iptables.js';
import { ruleComment, targetChain } from '../ir/iptables.js';
import { canonicalHostPort } from '../util/canonical.js';
import { parseComment } from './iptables-comments.js';
import { endpointChainHash, isShared, portChainHash, ROLE_PREFIX, roleOf, type Role } from './iptables-names.js';

/** What attribution works out once per comment and per chain, kept for one diff run. */
export interface AttributeCache {
  comments: Map<string, string | null>;
  // The diff reader gives a chain that is the same on both sides the same rules array: read it once.
  facts: WeakMap<readonly Rule[], ChainFacts>;
}

export function newAttributeCache(): AttributeCache {
  return { comments: new Map(), facts: new WeakMap() };
}

/** The service port a kube-proxy comment names, if it is one of kube-proxy's comments. */
export function commentService(comment: string | undefined, cache?: Map<string, string | null>): string | undefined {
  if (comment === undefined) return undefined;
  let found = cache?.get(comment);
  if (found === undefined) {
    found = parseComment(comment)?.service ?? null;
    cache?.set(comment, found);
  }
  return found ?? undefined;
}

export interface ChainOwner {
  service: string;
  role: Role;
  /** SEP chains: where the DNAT sends packets (canonical ip:port). */
  endpoint?: string;
}

export interface Attribution {
  /** nat service chains → owner. Chains left out are unattributed. */
  chains: Map<string, ChainOwner>;
  /** For each shared chain (`table chain`), the service of each rule (undefined: node-wide). */
  shared: Map<string, (string | undefined)[]>;
  /** Service port → protocol (lower case), from its rules. */
  protocols: Map<string, string>;
}

function protocolOf(rule: Rule): string | undefined {
  for (const m of rule.matches) if (m.kind === 'protocol' && !m.negate) return m.protocol.toLowerCase();
  return undefined;
}

/** What attribution reads from a chain's rules. */
interface ChainFacts {
  /** The service port named by the first kube-proxy comment. */
  service: string | undefined;
  /** Where its DNAT rule sends packets (canonical ip:port). */
  dnat: string | undefined;
  protocol: string | undefined;
}

function factsOf(rules: readonly Rule[], cache: AttributeCache): ChainFacts {
  let f = cache.facts.get(rules);
  if (f) return f;
  f = { service: undefined, dnat: undefined, protocol: undefined };
  for (const r of rules) {
    if (f.service === undefined) f.service = commentService(ruleComment(r), cache.comments);
    if (f.dnat === undefined && r.target?.kind === 'DNAT') f.dnat = canonicalHostPort(r.target.to);
    if (f.protocol === undefined) f.protocol = protocolOf(r);
  }
  cache.facts.set(rules, f);
  return f;
}

export function attribute(rs: IptablesRuleset, cache: AttributeCache = newAttributeCache()): Attribution {
  const chains = new Map<string, ChainOwner>();
  const shared = new Map<string, (string | undefined)[]>();
  const protocols = new Map<string, string>();
  const nat = rs.tables.find((t) => t.name === 'nat');
  const natChains = new Map<string, Chain>();
  for (const c of nat?.chains ?? []) if (roleOf(c.name)) natChains.set(c.name, c);
  const names = new Set<string>();

  const noteProtocol = (service: string, rule: Rule) => {
    if (protocols.has(service)) return;
    const p = protocolOf(rule);
    if (p) protocols.set(service, p);
  };

  const own = (name: string, service: string) => {
    if (chains.has(name)) return false;
    const chain = natChains.get(name);
    if (!chain) return false;
    const role = roleOf(name)!;
    const owner: ChainOwner = { service, role };
    if (role === 'SEP') {
      const ep = factsOf(chain.rules, cache).dnat;
      if (ep) owner.endpoint = ep;
    }
    chains.set(name, owner);
    return true;
  };

  // 1. Own comments.
  for (const [name, chain] of natChains) {
    const s = factsOf(chain.rules, cache).service;
    if (s) {
      names.add(s);
      own(name, s);
    }
  }

  // 2. Shared chains by comment, then the chains their rules jump to.
  const queue: string[] = [...chains.keys()];
  const pending: { key: string; index: number; target: string }[] = [];
  for (const table of rs.tables) {
    for (const chain of table.chains) {
      if (!isShared(table.name, chain.name)) continue;
      const key = `${table.name} ${chain.name}`;
      const owners = chain.rules.map((r, index) => {
        const s = commentService(ruleComment(r), cache.comments);
        const target = targetChain(r);
        if (s) {
          names.add(s);
          noteProtocol(s, r);
          if (target && own(target, s)) queue.push(target);
        } else if (target && roleOf(target)) {
          pending.push({ key, index, target });
        }
        return s;
      });
      shared.set(key, owners);
    }
  }
  // Jumps from owned service chains pass ownership on (EXT → SVC/SVL, SVC → SEP, FW → EXT).
  while (queue.length > 0) {
    const name = queue.pop()!;
    const owner = chains.get(name)!;
    for (const r of natChains.get(name)?.rules ?? []) {
      const target = targetChain(r);
      if (target && own(target, owner.service)) queue.push(target);
    }
  }

  // 3. Stale or otherwise unreachable chains with no comment: recompute the hashes.
  const orphans = [...natChains.keys()].filter((n) => !chains.has(n));
  if (orphans.length > 0 && names.size > 0) recoverByHash(orphans, natChains, [...names].sort(), own);

  // Rules of shared chains with no comment follow the chain they jump to.
  for (const p of pending) {
    const owner = chains.get(p.target);
    if (owner) shared.get(p.key)![p.index] = owner.service;
  }

  for (const [name, owner] of chains) {
    if (protocols.has(owner.service)) continue;
    const p = factsOf(natChains.get(name)!.rules, cache).protocol;
    if (p) protocols.set(owner.service, p);
  }
  return { chains, shared, protocols };
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'];
/** Beyond this many hash computations, give up on naming stale endpoint chains. */
const HASH_BUDGET = 200_000;

function recoverByHash(
  orphans: string[],
  natChains: Map<string, Chain>,
  names: string[],
  own: (chain: string, service: string) => boolean,
): void {
  const byHash = new Map<string, string>();
  const portChains = orphans.filter((o) => roleOf(o) !== 'SEP');
  if (portChains.length > 0) {
    for (const n of names) for (const p of PROTOCOLS) byHash.set(portChainHash(n, p), n);
    for (const o of portChains) {
      const s = byHash.get(o.slice(ROLE_PREFIX[roleOf(o)!].length));
      if (s) own(o, s);
    }
  }
  const seps = orphans.filter((o) => roleOf(o) === 'SEP');
  if (seps.length * names.length * PROTOCOLS.length > HASH_BUDGET) return;
  for (const o of seps) {
    let to: string | undefined;
    for (const r of natChains.get(o)!.rules) if (r.target?.kind === 'DNAT') to = r.target.to;
    if (to === undefined) continue;
    const hash = o.slice(ROLE_PREFIX.SEP.length);
    // kube-proxy hashes the endpoint as it writes it in the DNAT, so the raw text is used.
    const found = names.find((n) => PROTOCOLS.some((p) => endpointChainHash(n, p, to) === hash));
    if (found) own(o, found);
  }
}
