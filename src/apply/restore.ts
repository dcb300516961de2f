// An `iptables-restore --noflush` input as data: what apply, rollback and cleanup load. Kept
// as data so it can be printed (restoreText) and its effect computed on the IR (afterRestore)
// for the dry run and the tests, without reading restore text back.
import type { Chain, IptablesRuleset, Rule, Table } from '../ir/iptables.js';
import { BUILTIN_CHAINS } from '../ir/iptables.js';
import { formatRuleBody } from '../emit/iptables.js';
import { ruleBody } from './node-rules.js';

/** One table's part, in the order iptables-restore runs it. */
export interface RestoreTable {
  name: string;
  /**
   * `:NAME` declarations (a chain is created, or flushed when it exists), then their rules `-A`,
   * as the node or the rules file spelled them where they come from one.
   */
  chains: Chain[];
  /** `-D CHAIN RULE`: rules as the node has them. */
  deletes: { chain: string; rule: Rule }[];
  /** `-X NAME`. */
  removed: string[];
  /** `-I CHAIN 1 RULE`, each on top of the ones before. */
  inserts: { chain: string; rule: Rule }[];
}

export const restoreTable = (name: string): RestoreTable => ({ name, chains: [], deletes: [], removed: [], inserts: [] });

const line = (op: string, chain: string, body: string) => (body ? `${op} ${chain} ${body}` : `${op} ${chain}`);

export function restoreText(tables: RestoreTable[]): string {
  let out = '';
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c.name} ${c.policy ?? '-'} [0:0]\n`;
    for (const c of t.chains) for (const r of c.rules) out += `${line('-A', c.name, ruleBody(c.name, r))}\n`;
    for (const d of t.deletes) out += `${line('-D', d.chain, ruleBody(d.chain, d.rule))}\n`;
    for (const x of t.removed) out += `-X ${x}\n`;
    for (const i of t.inserts) out += `${line('-I', `${i.chain} 1`, formatRuleBody(i.rule))}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/** The rules after a successful restore of `tables` onto `now` (what the kernel would hold). */
export function afterRestore(now: IptablesRuleset, tables: RestoreTable[]): IptablesRuleset {
  const result: Table[] = now.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: [...c.rules] })) }));
  for (const r of tables) {
    let t = result.find((x) => x.name === r.name);
    if (!t) {
      // A table comes into being with its built-in chains.
      t = { name: r.name, chains: (BUILTIN_CHAINS[r.name] ?? []).map((name) => ({ name, policy: 'ACCEPT', rules: [] })), deleted: [] };
      result.push(t);
    }
    const table = t;
    const byName = new Map(table.chains.map((c) => [c.name, c]));
    for (const c of r.chains) {
      const old = byName.get(c.name);
      if (old) old.rules = [...c.rules];
      else {
        const added = { ...c, rules: [...c.rules] };
        table.chains.push(added);
        byName.set(c.name, added);
      }
    }
    for (const d of r.deletes) {
      const c = byName.get(d.chain);
      const body = ruleBody(d.chain, d.rule);
      const i = c ? c.rules.findIndex((x) => ruleBody(d.chain, x) === body) : -1;
      if (i >= 0) c!.rules.splice(i, 1);
    }
    const removed = new Set(r.removed);
    if (removed.size > 0) table.chains = table.chains.filter((c) => !removed.has(c.name));
    for (const i of r.inserts) byName.get(i.chain)?.rules.unshift(i.rule);
  }
  return { family: now.family, tables: result };
}
