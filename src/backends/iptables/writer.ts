import type { Chain, Match, Rule, Target } from '../../ir/iptables.js';

/** Collects one table's chains in declaration order and their rules in write order. */
export class TableWriter {
  private readonly chains: Chain[] = [];
  /** The chains written to by name (the fixed ones); per-service chains are added whole. */
  private readonly byName = new Map<string, Chain>();

  constructor(readonly name: string) {}

  /** The chain, declared now if it was not yet: rules can then go to it without a name lookup. */
  declare(chain: string): Chain {
    let c = this.byName.get(chain);
    if (!c) {
      this.byName.set(chain, (c = { name: chain, rules: [] }));
      this.chains.push(c);
    }
    return c;
  }

  add(chain: string, matches: Match[], target?: Target): void {
    this.declare(chain).rules.push(target ? { matches, target } : { matches });
  }

  /**
   * A chain with all its rules, never looked up by name again: kube-proxy's per-service chains
   * (~10^5 in a large cluster) are each assembled by their service port alone, and a name map
   * of all of them would cost more than the rest of their making.
   */
  addChain(chain: string, rules: Rule[]): void {
    this.chains.push({ name: chain, rules });
  }

  list(): Chain[] {
    return this.chains;
  }
}

// Small constructors so the backend reads like the rules it writes.
export const comment = (text: string): Match => ({ kind: 'comment', text });
export const dst = (cidr: string, negate = false): Match => ({ kind: 'destination', cidr, negate });
export const src = (cidr: string, negate = false): Match => ({ kind: 'source', cidr, negate });
export const dport = (port: number): Match => ({ kind: 'dport', port: String(port) });
export const addrtype = (direction: 'src' | 'dst', negate = false): Match => ({ kind: 'addrtype', direction, type: 'LOCAL', negate });

/**
 * Matches and targets that recur thousands of times in one rule set (protocol pairs, jumps to
 * one chain, verdicts), made once per compile and shared: the IR is never mutated after it is
 * built, and a large cluster has millions of them. Targets and whole match lists are frozen,
 * which tells the emitter to format them once.
 */
export class Shared {
  private readonly protos = new Map<string, Match[]>();
  private readonly jumps = new Map<string, Target>();
  private readonly verdicts = new Map<string, Target>();

  /** `-m tcp -p tcp` */
  proto(p: string): Match[] {
    let m = this.protos.get(p);
    if (!m)
      this.protos.set(
        p,
        (m = [
          { kind: 'module', name: p },
          { kind: 'protocol', protocol: p },
        ]),
      );
    return m;
  }

  private readonly frozenProtos = new Map<string, Match[]>();

  /** The protocol pair as a whole, frozen rule body (a rule whose matches are just these). */
  frozenProto(p: string): Match[] {
    let m = this.frozenProtos.get(p);
    if (!m) this.frozenProtos.set(p, (m = Object.freeze([...this.proto(p)]) as unknown as Match[]));
    return m;
  }

  jump(chain: string): Target {
    const known = this.jumps.get(chain);
    if (known) return known;
    const t: Target = Object.freeze({ kind: 'jump', chain });
    this.jumps.set(chain, t);
    return t;
  }

  verdict(v: 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN'): Target {
    const known = this.verdicts.get(v);
    if (known) return known;
    const t: Target = Object.freeze({ kind: v });
    this.verdicts.set(v, t);
    return t;
  }
}
