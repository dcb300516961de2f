// The order kube-proxy's own tests compare rule dumps in (sortIPTablesRules): tables by name;
// KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-* chains, then the rest, each group by name; and
// the rules of the KUBE-NODEPORTS / KUBE-SERVICES chains stably ordered by the service name in
// their comment, with the nat "must be the last rule" jump kept last.
import type { Chain, IptablesRuleset, Rule, Table } from '../../ir/iptables.js';
import { ruleComment } from '../../ir/iptables.js';
import { isLastRuleComment } from '../../kubeproxy/iptables-comments.js';
import { isKubeChain, KUBE_NODEPORTS, KUBE_SERVICES } from '../../kubeproxy/iptables-names.js';
import { sortedBy } from '../../util/sort.js';

function chainRank(name: string): number {
  if (name === KUBE_NODEPORTS) return 0;
  if (name === KUBE_SERVICES) return 1;
  return isKubeChain(name) ? 2 : 3;
}

/** The comment's service name: its text up to the first space or colon. */
function serviceNameOf(rule: Rule): string | undefined {
  const c = ruleComment(rule);
  if (c === undefined) return undefined;
  const cut = c.search(/[ :]/);
  return cut < 0 ? c : c.slice(0, cut);
}

function sortServiceRules(table: string, chain: Chain): Rule[] {
  const lastChain = table === 'nat' && chain.name === KUBE_SERVICES;
  // Keys computed once per rule, not once per comparison.
  const sorted = chain.rules.map((rule, index) => ({
    rule,
    index,
    key: serviceNameOf(rule),
    last: lastChain && isLastRuleComment(ruleComment(rule) ?? ''),
  }));
  sorted.sort((x, y) => {
    if (x.last !== y.last) return x.last ? 1 : -1;
    if (x.key !== undefined && y.key !== undefined && x.key !== y.key) return x.key < y.key ? -1 : 1;
    return x.index - y.index;
  });
  return sorted.map((s) => s.rule);
}

function canonicalTable(table: Table): Table {
  // Large clusters have ~10^5 chains: group them by rank, then sort each group's names with the
  // keyed sort (far cheaper than the built-in one on this many). Names are unique.
  const groups: Chain[][] = [[], [], [], []];
  for (const c of table.chains) groups[chainRank(c.name)]!.push(c);
  const chains: Chain[] = [];
  for (const group of groups) {
    for (const c of sortedBy(group, (c) => c.name)) chains.push(c);
  }
  for (let i = 0; i < chains.length; i++) {
    const c = chains[i]!;
    const sortRules = c.name === KUBE_NODEPORTS || (c.name === KUBE_SERVICES && (table.name === 'filter' || table.name === 'nat'));
    if (sortRules) chains[i] = { ...c, rules: sortServiceRules(table.name, c) };
  }
  return { ...table, chains };
}

export function canonicalRuleset(rs: IptablesRuleset): IptablesRuleset {
  const tables = [...rs.tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(canonicalTable);
  return { ...rs, tables };
}
