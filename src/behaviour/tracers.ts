// A tracer for one side of a behaviour diff: compiled from a model in either mode, or read from
// a rule file (a compile output or a node's dump).
import type { Family } from '../util/ip.js';
import { compileIptables } from '../backends/iptables/compile.js';
import { compileNftables } from '../backends/nftables/compile.js';
import type { ProxyModel } from '../model/types.js';
import { parseIptables } from '../parse/iptables.js';
import { parseNftables } from '../parse/nftables.js';
import { IptablesTracer } from '../trace/iptables.js';
import { NftablesTracer, nftRulesetFamily } from '../trace/nftables.js';
import { rulesFamily as familyOfRules } from '../parse/read.js';

export type AnyTracer = IptablesTracer | NftablesTracer;

export function tracerForModel(model: ProxyModel, mode: 'iptables' | 'nftables', previousNatChains?: string[]): AnyTracer {
  const node = { family: model.node.family, addresses: model.node.nodeIPs };
  // The tracers name lines where emit writes the rules: those of what compile prints.
  if (mode === 'nftables') return new NftablesTracer(compileNftables(model), node);
  return new IptablesTracer(compileIptables(model, previousNatChains ? { previousNatChains } : {}), node);
}

/** A rule file's tracer; `family` picks a table of a dual-stack nft listing, or is guessed. */
export function tracerForRules(kind: 'iptables' | 'nftables', text: string, nodeIPs: string[], family?: Family): AnyTracer {
  if (kind === 'nftables') {
    const rs = parseNftables(text);
    return new NftablesTracer(rs, { family: nftRulesetFamily(rs, family) ?? family ?? 'ipv4', addresses: nodeIPs });
  }
  const fam = family ?? familyOfRules('iptables', text);
  return new IptablesTracer(parseIptables(text, fam), { family: fam, addresses: nodeIPs });
}
