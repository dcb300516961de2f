// kube-proxy's iptables rules split by service port: each port's own chains and its rules in the
// shared chains, and the node-wide rest, told apart by what each chain is to kube-proxy. Chains
// other software owns (DOCKER, CNI, kube-router's KUBE-ROUTER-*) and the rules of built-in chains
// that do not jump to kube-proxy are counted, not kept. A rule set without built-in chains (a
// restore payload, as ktables compile and kube-proxy write it) gets the jump rules kube-proxy
// ensures before each sync.
import type { IptablesRuleset, Rule } from '../ir/iptables.js';
import { BUILTIN_CHAINS, targetChain } from '../ir/iptables.js';
import { isLastRuleComment } from './iptables-comments.js';
import { jumpRulesFor } from './iptables-jumps.js';
import { isOthersKubeChain, isShared, KUBE_NODEPORTS, KUBE_SERVICES, roleOf } from './iptables-names.js';
import { attribute, newAttributeCache, type AttributeCache, type ChainOwner } from './iptables-owners.js';
import type { IptablesServiceRules } from './iptables-summary.js';

export interface IptablesPort extends IptablesServiceRules {
  /** kube-proxy's service port name: `ns/name` or `ns/name:port`. */
  name: string;
}

/**
 * A node-wide chain, or the node's slice of a shared one. `builtin`: a built-in chain's jumps to
 * kube-proxy; `implied`: those kube-proxy ensures, for a rule set without built-in chains;
 * `shared`: what no service port owns in a shared chain; `fixed`: another chain of kube-proxy's;
 * `stale`: a per-service chain no service port was found for.
 */
export interface NodeChain {
  table: string;
  name: string;
  kind: 'builtin' | 'implied' | 'shared' | 'fixed' | 'stale';
  rules: Rule[];
  /** `shared` in nat KUBE-SERVICES: per rule, how many service rules follow the NodePort dispatch (0: none). */
  misplaced?: number[];
}

export interface IptablesPorts {
  ports: Map<string, IptablesPort>;
  nodeWide: NodeChain[];
  /** The per-service chains of the rule set and their owners. */
  owners: Map<string, ChainOwner>;
  /** `table chain` of the non-empty chains that are not kube-proxy's. */
  foreignChains: string[];
  /** Rules in built-in chains that do not jump to kube-proxy. */
  foreignRules: number;
}

const ours = (chain: string | undefined) => !!chain?.startsWith('KUBE-') && !isOthersKubeChain(chain);

export function iptablesPorts(input: IptablesRuleset, cache: AttributeCache = newAttributeCache()): IptablesPorts {
  const rs = withoutDeleted(input);
  const att = attribute(rs, cache);
  const owners = att.chains;
  const ports = new Map<string, IptablesPort>();
  const ownerOf = (chain: string) => owners.get(chain);
  const port = (name: string): IptablesPort => {
    let p = ports.get(name);
    if (!p) ports.set(name, (p = { name, protocol: att.protocols.get(name) ?? '', shared: new Map(), chains: [], ownerOf }));
    return p;
  };
  const out: IptablesPorts = { ports, nodeWide: [], owners, foreignChains: [], foreignRules: 0 };
  const node = (c: NodeChain) => out.nodeWide.push(c);

  for (const table of rs.tables) {
    const builtins = BUILTIN_CHAINS[table.name] ?? [];
    if ((table.name === 'filter' || table.name === 'nat') && !table.chains.some((c) => builtins.includes(c.name)))
      for (const b of builtins) node({ table: table.name, name: b, kind: 'implied', rules: jumpRulesFor(table.name, b) });
    for (const chain of table.chains) {
      const owner = table.name === 'nat' ? owners.get(chain.name) : undefined;
      if (owner) port(owner.service).chains.push({ name: chain.name, owner, rules: chain.rules });
      else if (builtins.includes(chain.name)) {
        const jumps = chain.rules.filter((r) => ours(targetChain(r)));
        out.foreignRules += chain.rules.length - jumps.length;
        node({ table: table.name, name: chain.name, kind: 'builtin', rules: jumps });
      } else if (!ours(chain.name)) {
        if (chain.rules.length > 0) out.foreignChains.push(`${table.name} ${chain.name}`);
      } else if (isShared(table.name, chain.name)) {
        const id = `${table.name} ${chain.name}`;
        const serviceOf = att.shared.get(id) ?? [];
        const mine: Rule[] = [];
        const at: number[] = [];
        chain.rules.forEach((r, i) => {
          const s = serviceOf[i];
          if (s === undefined) {
            mine.push(r);
            at.push(i);
          } else {
            const slices = port(s).shared;
            const slice = slices.get(id);
            if (slice) slice.push(r);
            else slices.set(id, [r]);
          }
        });
        const c: NodeChain = { table: table.name, name: chain.name, kind: 'shared', rules: mine };
        // The NodePort dispatch in nat KUBE-SERVICES must come after every service rule; where
        // it stands among them is otherwise not visible once the chain is split by service.
        if (id === `nat ${KUBE_SERVICES}`) {
          let last = -1;
          serviceOf.forEach((s, i) => s !== undefined && (last = i));
          c.misplaced = mine.map((r, i) => (at[i]! < last && isDispatch(r) ? last - at[i]! : 0));
        }
        node(c);
      } else node({ table: table.name, name: chain.name, kind: roleOf(chain.name) ? 'stale' : 'fixed', rules: chain.rules });
    }
  }
  return out;
}

const isDispatch = (r: Rule) =>
  targetChain(r) === KUBE_NODEPORTS || r.matches.some((m) => m.kind === 'comment' && isLastRuleComment(m.text));

function withoutDeleted(rs: IptablesRuleset): IptablesRuleset {
  if (rs.tables.every((t) => t.deleted.length === 0)) return rs;
  return {
    ...rs,
    tables: rs.tables.map((t) => {
      const gone = new Set(t.deleted);
      return gone.size === 0 ? t : { ...t, chains: t.chains.filter((c) => !gone.has(c.name)), deleted: [] };
    }),
  };
}
