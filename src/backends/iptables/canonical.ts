// The order kube-proxy's own tests compare rule dumps in (sortIPTablesRules): tables by name;
// KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-* chains, then the rest, each group by name; and
// the rules of the KUBE-NODEPORTS / KUBE-SERVICES chains stably ordered by the service name in
// their comment, with the nat "must be the last rule" jump kept last.
import type { Chain, IptablesRuleset, Rule, Table } from '../../ir/iptables.js';
import { ruleComment } from '../../ir/iptables.js';

function chainRank(name: string): number {
  if (name === 'KUBE-NODEPORTS') return 0;
  if (name === 'KUBE-SERVICES') return 1;
  return name.startsWith('KUBE-') ? 2 : 3;
}

export function compareChainNames(a: string, b: string): number {
  const ra = chainRank(a);
  const rb = chainRank(b);
  if (ra !== rb) return ra - rb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The comment's service name: its text up to the first space or colon. */
function serviceNameOf(rule: Rule): string | undefined {
  const c = ruleComment(rule);
  if (c === undefined) return undefined;
  const cut = c.search(/[ :]/);
  return cut < 0 ? c : c.slice(0, cut);
}

const LAST_RULE_MARKER = 'must be the last rule';

function sortServiceRules(table: string, chain: Chain): Rule[] {
  const sorted = chain.rules.map((rule, index) => ({ rule, index, key: serviceNameOf(rule) }));
  const last = (r: Rule) => table === 'nat' && chain.name === 'KUBE-SERVICES' && (ruleComment(r) ?? '').includes(LAST_RULE_MARKER);
  sorted.sort((x, y) => {
    const lx = last(x.rule);
    const ly = last(y.rule);
    if (lx !== ly) return lx ? 1 : -1;
    if (x.key !== undefined && y.key !== undefined && x.key !== y.key) return x.key < y.key ? -1 : 1;
    return x.index - y.index;
  });
  return sorted.map((s) => s.rule);
}

export function canonicalTable(table: Table): Table {
  // Large clusters have ~10^5 chains: sort plain string keys (rank digit + name) with the
  // built-in comparison, which is far cheaper than a JS comparator. Names are unique.
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  const keys = table.chains.map((c) => `${chainRank(c.name)}${c.name}`).sort();
  const chains = keys.map((k) => byName.get(k.slice(1))!).map((c) => {
    const sortRules =
      c.name === 'KUBE-NODEPORTS' || (c.name === 'KUBE-SERVICES' && (table.name === 'filter' || table.name === 'nat'));
    return sortRules ? { ...c, rules: sortServiceRules(table.name, c) } : c;
  });
  return { ...table, chains };
}

export function canonicalRuleset(rs: IptablesRuleset): IptablesRuleset {
  const tables = [...rs.tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(canonicalTable);
  return { ...rs, tables };
}
