// The rules apply loads when they come from manifests: compiled for the node apply finds
// (its stale nat chains, whether it has nfacct), for either backend.
import type { ProxyModel } from '../model/types.js';
import { compileIptables } from '../backends/iptables/compile.js';
import { compileNftables } from '../backends/nftables/compile.js';
import { emitNftables } from '../emit/nftables.js';
import type { NftSource, RulesSource } from './execute.js';

export function modelSource(model: ProxyModel, mode: 'iptables' | 'nftables'): RulesSource {
  const family = model.node.family;
  if (mode === 'nftables') {
    const ruleset = compileNftables(model);
    const source: NftSource = { backend: 'nftables', family, payload: emitNftables(ruleset), ruleset };
    return source;
  }
  return {
    backend: 'iptables',
    family,
    build: ({ previousNatChains, nfacct }) => {
      // Without nfacct in the kernel kube-proxy leaves the counter matches out.
      const m = model.node.nfacct && !nfacct ? { ...model, node: { ...model.node, nfacct: false } } : model;
      return { ruleset: compileIptables(m, { previousNatChains }), notes: [] };
    },
  };
}
