// Which kube-proxy release wrote an nftables table, read from the shapes of its rules (the
// changes listed in releases.ts). A rule file carries no version, so diff guesses from these.
import type { Table } from '../ir/nftables.js';

/** '1.35', '1.36', '1.37', '1.36+' (a v1.36 shape with nothing only v1.37 writes), or undefined. */
export function detectNftRelease(t: Table): string | undefined {
  if (t.chains.some((c) => c.name === 'mark-for-masquerade')) return '1.35';
  if (!t.sets.some((s) => s.name === 'hairpin-connections')) return undefined;
  // v1.37 only: the gated localhost NodePort objects, or a service chain that DNATs directly.
  if (t.sets.some((s) => s.name === 'localhost-nodeport-reject-ports') || (t.counters ?? []).length > 0) return '1.37';
  const policyChain = (name: string) => name.startsWith('service-') || name.startsWith('local-');
  if (t.chains.some((c) => policyChain(c.name) && c.rules.some((r) => r.verdict?.kind === 'dnat'))) return '1.37';
  if (t.chains.some((c) => policyChain(c.name) && c.rules.some((r) => r.verdict?.kind === 'dnatMap' && r.verdict.entries.length === 1)))
    return '1.36';
  return '1.36+';
}
