// The nftables rule set as data, in the spirit of knftables: tables holding chains (with their
// rules) and sets/maps (with their elements). Rules are structured expression lists ending in
// a verdict, so the tracer evaluates them without reading rule text. The backend builds it,
// emit prints it (knftables' dump form), parse reads that form and `nft list ruleset` into it.

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
/** Which network header an address match reads. */
export type L3 = 'ip' | 'ip6';
export type AddrField = 'saddr' | 'daddr';
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
export type ChainType = 'filter' | 'nat' | 'route';

export interface BaseChain {
  type: ChainType;
  hook: Hook;
  /** Numeric priority (named priorities such as `dstnat - 10` resolved). */
  priority: number;
  policy?: 'accept' | 'drop';
}

/** One selector of a concatenated lookup key: `ip daddr . meta l4proto . th dport`. */
export type KeyPart = { kind: 'addr'; l3: L3; field: AddrField } | { kind: 'l4proto' } | { kind: 'thDport' };

/**
 * A match or a non-terminal statement, in the order written. Each kind is one nft phrase.
 * Values stay in their written spelling (a mark as `0x4000` or `0x00004000`); the tracer
 * parses them, the printer writes them back unchanged.
 */
export type Expr =
  | { kind: 'ctState'; states: string[]; negate?: boolean } // ct state new
  /** ip daddr 10.0.0.1 | ip saddr != 10.0.0.0/8 | ip daddr { a , b } (an anonymous set: any element). */
  | { kind: 'addr'; l3: L3; field: AddrField; negate?: boolean; values: string[]; set?: { sep: string } }
  | { kind: 'lookup'; l3: L3; field: AddrField; set: string; negate?: boolean } // ip daddr @cluster-ips
  | { kind: 'fibLocal'; field: AddrField; negate?: boolean } // fib daddr type local
  | { kind: 'l4proto'; protocol: string; negate?: boolean } // meta l4proto tcp
  | { kind: 'port'; protocol: string; field: 'sport' | 'dport'; negate?: boolean; values: string[] } // tcp dport 80 | th dport { 80, 443 }
  /** iifname cni0 | iifname != veth* (a trailing * matches a prefix). */
  | { kind: 'ifname'; dir: 'iifname' | 'oifname'; negate?: boolean; name: string; quoted?: boolean }
  /** mark and M == V (dump form) | meta mark & M == V (list form). */
  | { kind: 'markMatch'; mask: string; value: string; negate?: boolean; style?: 'list' }
  /** mark set mark or V (dump form) | meta mark set meta mark | V (list form). */
  | { kind: 'markSet'; op: 'or' | 'xor' | 'and'; value: string; style?: 'list' }
  | { kind: 'setUpdate'; set: string; l3: L3; field: AddrField; op?: 'update' | 'add' } // update @s { ip saddr }
  | { kind: 'counter'; text: string } // counter [packets N bytes M] | counter name "x": no effect on a packet
  | { kind: 'ctStatus'; statuses: string[]; negate?: boolean } // ct status dnat
  /** ip saddr . ip daddr . meta l4proto . th dport @hairpin-connections (a concatenated set lookup). */
  | { kind: 'concatLookup'; key: KeyPart[]; set: string; negate?: boolean }
  | { kind: 'other'; text: string }; // kept verbatim so it prints; a trace that reaches it is conditional

/** A map value or rule verdict that names where a packet goes next. */
type ChainVerdict = { kind: 'jump' | 'goto'; chain: string };
export type SimpleVerdict = { kind: 'accept' | 'drop' | 'return' | 'continue' } | ChainVerdict;

/** What ends a rule: a verdict, a verdict map, or a terminal statement (dnat, masquerade, reject). */
export type Verdict =
  | SimpleVerdict
  | { kind: 'reject'; with?: string }
  | { kind: 'vmap'; key: KeyPart[]; map: string } // KEY vmap @MAP
  | { kind: 'numgen'; mod: number; entries: { index: number; verdict: SimpleVerdict }[]; sep: string } // numgen random mod N vmap { 0 : goto X , ... }
  | { kind: 'dnat'; to: string; l3?: L3 } // dnat to 10.180.0.1:80 | [fd00::1]:80 (list form: dnat ip to ...)
  /**
   * dnat ip addr . port to numgen random mod N map { 0 : IP . PORT , ... } (kube-proxy 1.36+);
   * `nft list` prints `dnat ip to numgen random mod N map { 0 : IP . PORT, ... }` (style list).
   */
  | { kind: 'dnatMap'; l3: L3; mod: number; entries: { index: number; ip: string; port: number }[]; sep: string; style?: 'list' }
  | { kind: 'masquerade'; fullyRandom?: boolean }
  | { kind: 'other'; text: string };

export interface Rule {
  exprs: Expr[];
  verdict?: Verdict;
  comment?: string;
  /** Where the rule came from when parsed (line in the source text), for trace output. */
  source?: { line: number };
}

export interface Chain {
  name: string;
  base?: BaseChain;
  comment?: string;
  rules: Rule[];
}

export interface Element {
  key: string[];
  /** Map elements only: the verdict (kube-proxy's maps are all verdict maps). */
  value?: SimpleVerdict;
  comment?: string;
}

export interface NftSet {
  kind: 'set' | 'map';
  name: string;
  /** Key type parts, e.g. ['ipv4_addr', 'inet_proto', 'inet_service']. */
  keyType: string[];
  /** Maps only: the value type (`verdict`). */
  dataType?: string;
  flags?: string[];
  /** Element timeout in seconds. */
  timeout?: number;
  size?: number;
  comment?: string;
  elements: Element[];
}

export interface Table {
  family: NftFamily;
  name: string;
  comment?: string;
  chains: Chain[];
  /** Sets and maps. */
  sets: NftSet[];
  /** Named counters (`add counter FAMILY TABLE NAME`), by name. */
  counters?: string[];
}

export interface NftRuleset {
  tables: Table[];
}

export const KUBE_PROXY_TABLE = 'kube-proxy';
