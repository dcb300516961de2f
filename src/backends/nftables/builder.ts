// Collects one table's objects the way knftables' Fake holds them: chains and sets by name,
// rules in the order added, and set/map elements keyed by their key (adding an existing key
// replaces its value, as knftables and kube-proxy's element storage do).
import type { Chain, Element, Expr, L3, NftFamily, NftSet, Rule, SimpleVerdict, Table, Verdict } from '../../ir/nftables.js';

interface SetEntry {
  set: NftSet;
  /** In the order first added. */
  elements: Element[];
  /**
   * Where the elements whose key starts with a given part are in `elements`. Keys differ
   * mostly in their first part (an IP), so this finds an existing key without building a
   * joined string for each of 10^5 elements.
   */
  byFirstPart: Map<string | undefined, number | number[]>;
}

const sameKey = (a: string[], b: string[]): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

export class TableBuilder {
  private readonly chains = new Map<string, Chain>();
  private readonly sets = new Map<string, SetEntry>();
  private readonly counters = new Set<string>();

  constructor(
    readonly family: NftFamily,
    readonly name: string,
    readonly comment?: string,
  ) {}

  /** Creates the chain unless it exists (kube-proxy's ensureChain). */
  chain(name: string, extra?: Pick<Chain, 'base' | 'comment'>): void {
    if (this.chains.has(name)) return;
    const c: Chain = { name, rules: [] };
    if (extra?.base) c.base = extra.base;
    if (extra?.comment !== undefined) c.comment = extra.comment;
    this.chains.set(name, c);
  }

  rule(chain: string, exprs: Expr[], verdict?: Verdict, comment?: string): void {
    const c = this.chains.get(chain);
    // knftables refuses a rule for a chain nobody created; so do we: it is a backend bug.
    if (!c) throw new Error(`nftables backend: rule for undeclared chain ${chain}`);
    // Each object is made whole, in one of a few shapes: a property added afterwards costs a
    // separate property store per object, and a large cluster keeps 10^5 of them.
    const rule: Rule =
      comment !== undefined ? (verdict ? { exprs, verdict, comment } : { exprs, comment }) : verdict ? { exprs, verdict } : { exprs };
    // Most chains hold one to three rules: a one-rule array is exact, where the first push
    // would reserve room for sixteen.
    if (c.rules.length === 0) c.rules = [rule];
    else c.rules.push(rule);
  }

  set(def: Omit<NftSet, 'elements'>): void {
    if (!this.sets.has(def.name)) this.sets.set(def.name, { set: { ...def, elements: [] }, elements: [], byFirstPart: new Map() });
  }

  element(set: string, key: string[], value?: SimpleVerdict, comment?: string): void {
    const entry = this.sets.get(set);
    if (!entry) throw new Error(`nftables backend: element for undeclared set ${set}`);
    const el: Element = comment !== undefined ? (value ? { key, value, comment } : { key, comment }) : value ? { key, value } : { key };
    const { elements, byFirstPart } = entry;
    const at = byFirstPart.get(key[0]);
    if (at === undefined) {
      byFirstPart.set(key[0], elements.length);
      elements.push(el);
      return;
    }
    if (typeof at === 'number') {
      if (sameKey(elements[at]!.key, key)) elements[at] = el;
      else byFirstPart.set(key[0], [at, elements.push(el) - 1]);
      return;
    }
    for (const i of at) {
      if (sameKey(elements[i]!.key, key)) {
        elements[i] = el;
        return;
      }
    }
    at.push(elements.push(el) - 1);
  }

  counter(name: string): void {
    this.counters.add(name);
  }

  build(): Table {
    const sets = [...this.sets.values()].map(({ set, elements }) => ({ ...set, elements: elements.slice() }));
    const table: Table = { family: this.family, name: this.name, chains: [...this.chains.values()], sets };
    if (this.comment !== undefined) table.comment = this.comment;
    if (this.counters.size > 0) table.counters = [...this.counters];
    return table;
  }
}

// Small constructors so the backend reads like the rules it writes.
export const addr = (l3: L3, field: 'saddr' | 'daddr', value: string, negate = false): Expr => ({
  kind: 'addr',
  l3,
  field,
  values: [value],
  negate,
});
export const anonSet = (l3: L3, field: 'saddr' | 'daddr', values: string[], sep: string, negate = false): Expr => ({
  kind: 'addr',
  l3,
  field,
  values,
  negate,
  set: { sep },
});
export const lookup = (l3: L3, field: 'saddr' | 'daddr', set: string): Expr => ({ kind: 'lookup', l3, field, set });
export const fibLocal = (field: 'saddr' | 'daddr'): Expr => ({ kind: 'fibLocal', field });
export const ctNew: Expr = { kind: 'ctState', states: ['new'] };
export const jump = (chain: string): SimpleVerdict => ({ kind: 'jump', chain });
export const goto = (chain: string): SimpleVerdict => ({ kind: 'goto', chain });
export const drop: SimpleVerdict = { kind: 'drop' };
