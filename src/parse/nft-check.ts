// What an nft listing lacks, said once when it is read: map entries and verdicts that name
// chains the listing does not hold (a listing cut short and closed by hand), and a kube-proxy
// table without any base chain (nothing in it would see a packet).
import type { NftRuleset, SimpleVerdict, Verdict } from '../ir/nftables.js';

export function nftListingWarnings(rs: NftRuleset): string[] {
  const out: string[] = [];
  for (const t of rs.tables) {
    const chains = new Set(t.chains.map((c) => c.name));
    const missing = new Map<string, string[]>(); // chain → where it is named
    const named = (v: SimpleVerdict | Verdict | undefined, where: string) => {
      if (v && (v.kind === 'jump' || v.kind === 'goto') && !chains.has(v.chain))
        missing.set(v.chain, [...(missing.get(v.chain) ?? []), where]);
    };
    for (const s of t.sets) for (const e of s.elements) named(e.value, `map ${s.name}`);
    for (const c of t.chains) {
      for (const r of c.rules) {
        named(r.verdict, `chain ${c.name}`);
        if (r.verdict?.kind === 'numgen') for (const e of r.verdict.entries) named(e.verdict, `chain ${c.name}`);
      }
    }
    if (missing.size > 0) {
      const list = [...missing].map(([chain, where]) => `${chain} (named in ${[...new Set(where)].join(', ')})`);
      const shown = list.length > 5 ? [...list.slice(0, 5), `... (${list.length} in all)`] : list;
      out.push(
        `table ${t.family} ${t.name}: ${missing.size} chain${missing.size === 1 ? '' : 's'} named but not in the listing (cut short?): ${shown.join(', ')}`,
      );
    }
    if (t.name === 'kube-proxy' && t.chains.length > 0 && !t.chains.some((c) => c.base)) {
      out.push(`table ${t.family} ${t.name} has no base chain (no hook): nothing in it sees a packet, so every trace passes untouched`);
    }
  }
  return out;
}
