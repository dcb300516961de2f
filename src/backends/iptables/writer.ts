import type { Chain, Match, Rule, Target } from '../../ir/iptables.js';

/** Collects one table's chains in declaration order and their rules in write order. */
export class TableWriter {
  private readonly chains = new Map<string, Chain>();

  constructor(readonly name: string) {}

  declare(chain: string): void {
    if (!this.chains.has(chain)) this.chains.set(chain, { name: chain, rules: [] });
  }

  add(chain: string, matches: Match[], target?: Target): void {
    let c = this.chains.get(chain);
    if (!c) this.chains.set(chain, (c = { name: chain, rules: [] }));
    const rule: Rule = target ? { matches, target } : { matches };
    c.rules.push(rule);
  }

  list(): Chain[] {
    return [...this.chains.values()];
  }
}

// Small constructors so the backend reads like the rules it writes. The IR is never mutated
// after it is built, so matches and targets that recur are shared: a large cluster has
// millions of them.
export const comment = (text: string): Match => ({ kind: 'comment', text });
const PROTO: Record<string, Match[]> = {};
export const proto = (p: string): Match[] => (PROTO[p] ??= [{ kind: 'module', name: p }, { kind: 'protocol', protocol: p }]);
export const dst = (cidr: string, negate = false): Match => ({ kind: 'destination', cidr, negate });
export const src = (cidr: string, negate = false): Match => ({ kind: 'source', cidr, negate });
export const dport = (port: number): Match => ({ kind: 'dport', port: String(port) });
export const addrtype = (direction: 'src' | 'dst', negate = false): Match => ({ kind: 'addrtype', direction, type: 'LOCAL', negate });
export const jump = (chain: string): Target => ({ kind: 'jump', chain });
const VERDICTS = new Map<string, Target>();
export const verdict = (v: 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN'): Target => {
  const known = VERDICTS.get(v);
  if (known) return known;
  const t: Target = { kind: v };
  VERDICTS.set(v, t);
  return t;
};
