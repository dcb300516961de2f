// The iptables rule set as data: tables, chains and rules made of structured matches and a
// target. Backends build it, emit prints it, parse reads iptables-save / restore text into it,
// and trace, diff and apply work on it, whichever way it was made.
import type { Family } from '../util/ip.js';

/**
 * One option of a rule, in the order written. A rule is a sequence of these; `-m tcp` is its
 * own element because kube-proxy writes it apart from the `--dport` it enables.
 */
export type Match =
  | { kind: 'comment'; text: string }
  | { kind: 'module'; name: string } // a bare `-m NAME` (tcp, udp, sctp)
  | { kind: 'protocol'; protocol: string; negate?: boolean } // -p
  | { kind: 'source'; cidr: string; negate?: boolean } // -s, as written (10.0.0.1 or 10.0.0.1/32)
  | { kind: 'destination'; cidr: string; negate?: boolean } // -d
  | { kind: 'dport'; port: string; negate?: boolean } // --dport N or N:M
  | { kind: 'sport'; port: string; negate?: boolean }
  | { kind: 'inInterface'; name: string; negate?: boolean } // -i (a trailing + is a prefix)
  | { kind: 'outInterface'; name: string; negate?: boolean } // -o
  | { kind: 'addrtype'; direction: 'src' | 'dst'; type: string; negate?: boolean } // -m addrtype
  | { kind: 'mark'; value: string; mask?: string; negate?: boolean } // -m mark --mark v[/m]
  | { kind: 'conntrack'; states: string[]; negate?: boolean } // -m conntrack --ctstate
  | { kind: 'statistic'; probability: string } // -m statistic --mode random --probability P
  | {
      kind: 'recent';
      name: string;
      action: 'set' | 'rcheck' | 'update' | 'remove';
      seconds?: number;
      reap?: boolean;
      mask?: string;
      side?: 'rsource' | 'rdest';
    }
  | { kind: 'nfacct'; name: string }
  | { kind: 'other'; text: string }; // kept verbatim so it can be printed; trace refuses it

export type Target =
  | { kind: 'jump'; chain: string }
  | { kind: 'goto'; chain: string }
  | { kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { kind: 'REJECT'; rejectWith?: string }
  | { kind: 'DNAT'; to: string }
  | { kind: 'SNAT'; to: string }
  | { kind: 'MARK'; op: 'or' | 'xor' | 'set-xmark' | 'set' | 'and'; value: string }
  | { kind: 'MASQUERADE'; randomFully?: boolean; toPorts?: string }
  | { kind: 'other'; text: string };

export interface Rule {
  matches: Match[];
  target?: Target; // absent: a rule that only counts (kube-proxy's last KUBE-FW rule)
  /** Where this rule came from when parsed: line number in the source text, and its text. */
  source?: { line: number; text: string };
}

export interface Chain {
  name: string;
  /** Built-in chains carry a policy (ACCEPT/DROP); user chains have none ("-"). */
  policy?: string;
  rules: Rule[];
}

export interface Table {
  name: string;
  /** Chains in declaration order. */
  chains: Chain[];
  /** Chains deleted with -X after the rules (kube-proxy's stale chains). */
  deleted: string[];
}

export interface IptablesRuleset {
  family: Family;
  tables: Table[];
}

export const BUILTIN_CHAINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export function findTable(rs: IptablesRuleset, name: string): Table | undefined {
  return rs.tables.find((t) => t.name === name);
}

export function findChain(table: Table | undefined, name: string): Chain | undefined {
  return table?.chains.find((c) => c.name === name);
}

/** The chain a rule's target sends packets to, if any. */
export function targetChain(rule: Rule): string | undefined {
  const t = rule.target;
  return t && (t.kind === 'jump' || t.kind === 'goto') ? t.chain : undefined;
}

export function ruleComment(rule: Rule): string | undefined {
  for (const m of rule.matches) if (m.kind === 'comment') return m.text;
  return undefined;
}
