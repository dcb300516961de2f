// iptables-nft keeps each iptables table as an nftables table, created on first use, and adds a
// built-in chain to it only when a rule first goes there. iptables-save shows every built-in
// chain either way, so an apply that is rolled back, or cleaned up, could leave an empty `ip nat`
// table or `PREROUTING` chain that only `nft list ruleset` reveals. These helpers find what
// apply brought into being at that level and take it away again once it is empty.
import { iptablesTool, nftFamily } from './plan.js';
import type { Family } from '../util/ip.js';
import { RuleError, SystemError } from '../errors.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import { parseNftables } from '../parse/nftables.js';
import { chainOf, isBuiltin, isUnusedTable } from './node-rules.js';
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
  // No table of this family at all: nft prints nothing.
  if (r.stdout.trim() === '') return out;
  let listing;
  try {
    listing = parseNftables(r.stdout);
  } catch (e) {
    if (e instanceof RuleError) throw new SystemError(`${r.command} printed chains ktables cannot read: ${e.message}`);
    throw e;
  }
  for (const table of listing.tables) {
    if (!IPTABLES_TABLES.has(table.name)) continue;
    out.add(table.name);
    for (const c of table.chains) out.add(`${table.name}/${c.name}`);
  }
  return out;
}

function emptyBuiltin(saved: IptablesRuleset, table: string, chain: string): boolean {
  const c = chainOf(saved, table, chain);
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
  const saved = (await readIptables(sys, t, family)).rules;
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
