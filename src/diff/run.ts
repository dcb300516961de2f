// One diff run's caches: what is worked out once per rule line, chain, comment or rule and
// shared by the two sides. Created per run (sides.ts, newReadContext) and dropped with it, so
// nothing computed for one diff is kept for the next.
import type { Rule } from '../ir/iptables.js';
import type { Element, Rule as NftRule } from '../ir/nftables.js';
import { newAttributeCache, type AttributeCache } from '../kubeproxy/iptables-owners.js';
import type { NormalRule } from '../ir/iptables-key.js';
import { newRuleCache, type RuleCache } from '../parse/chain-cache.js';
import type { Family } from '../util/ip.js';

export interface DiffRun extends RuleCache, AttributeCache {
  /** iptables rules' normal forms (normalize.ts), per family. */
  normal: Record<Family, WeakMap<Rule, NormalRule>>;
  /** iptables rules' keys with chain names as written (the pair reader's quick check). */
  rawKeys: Record<Family, WeakMap<Rule, string>>;
  nftRules: WeakMap<NftRule, NormalRule>;
  nftElements: WeakMap<Element, NormalRule>;
}

export function newDiffRun(): DiffRun {
  return {
    ...newRuleCache(),
    ...newAttributeCache(),
    normal: { ipv4: new WeakMap(), ipv6: new WeakMap() },
    rawKeys: { ipv4: new WeakMap(), ipv6: new WeakMap() },
    nftRules: new WeakMap(),
    nftElements: new WeakMap(),
  };
}
