// iptables-nft keeps each iptables table as an nftables table, created on first use, and adds a
// built-in chain to it only when a rule first goes there. iptables-save shows every built-in
// chain either way, so an apply that is rolled back, or cleaned up, could leave an empty `ip nat`
// table or `PREROUTING` chain that only `nft list ruleset` reveals. These helpers find what
// apply brought into being at that level and take it away again once it is empty.
import type { Family } from '../util/ip.js';
import { iptablesTool, nftFamily } from './plan.js';
import { isBuiltin, isUnusedTable, type SavedRules } from './saved.js';
import { readIptables, type Target } from './state.js';
import type { System } from './system.js';

const IPTABLES_TABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);

/** `table` and `table/chain` names of the iptables tables as nftables has them; undefined: not iptables-nft. */
export async function iptablesNftObjects(sys: System, t: Target, family: Family): Promise<Set<string> | undefined> {
  if (!sys.which('nft')) return undefined;
  const version = await sys.run(iptablesTool(family, 'save'), ['--version'], { netns: t.netns, allowFailure: true });
  if (!/nf_tables/.test(version.stdout + version.stderr)) return undefined;
  const r = await sys.run('nft', ['list', 'chains', nftFamily(family)], { netns: t.netns, allowFailure: true });
  if (r.exitCode !== 0) return undefined;
  const out = new Set<string>();
  let table = '';
  for (const line of r.stdout.split('\n')) {
    const tm = /^table \S+ (\S+) \{/.exec(line);
    if (tm) {
      table = IPTABLES_TABLES.has(tm[1]!) ? tm[1]! : '';
      if (table) out.add(table);
      continue;
    }
    const cm = /^\s+chain (\S+) \{/.exec(line);
    if (cm && table) out.add(`${table}/${cm[1]}`);
  }
  return out;
}

function emptyBuiltin(saved: SavedRules, table: string, chain: string): boolean {
  const c = saved.tables.get(table)?.chains.get(chain);
  return !c || (c.rules.length === 0 && (c.policy ?? 'ACCEPT') === 'ACCEPT');
}

/**
 * Deletes the tables and built-in chains named in `created` that are empty now: a table when
 * nothing at all is left in it, else its empty built-in chains. Returns what it deleted.
 */
export async function dropCreatedNftObjects(sys: System, t: Target, family: Family, created: string[]): Promise<string[]> {
  if (created.length === 0 || !sys.which('nft')) return [];
  const now = await iptablesNftObjects(sys, t, family);
  if (!now) return [];
  const saved = (await readIptables(sys, t, family)).saved;
  const fam = nftFamily(family);
  const deleted: string[] = [];
  const tablesGone = new Set<string>();
  for (const name of created.filter((c) => !c.includes('/'))) {
    if (!now.has(name) || !isUnusedTable(saved, name)) continue;
    await sys.run('nft', ['delete', 'table', fam, name], { netns: t.netns });
    tablesGone.add(name);
    deleted.push(`table ${fam} ${name}`);
  }
  for (const name of created.filter((c) => c.includes('/'))) {
    const [table, chain] = name.split('/') as [string, string];
    if (tablesGone.has(table) || !now.has(name) || !isBuiltin(table, chain) || !emptyBuiltin(saved, table, chain)) continue;
    await sys.run('nft', ['delete', 'chain', fam, table, chain], { netns: t.netns });
    deleted.push(`chain ${fam} ${table} ${chain}`);
  }
  return deleted;
}

/** What exists now that did not before. */
export function newObjects(before: Set<string> | undefined, after: Set<string> | undefined): string[] {
  if (!before || !after) return [];
  return [...after].filter((x) => !before.has(x)).sort();
}
