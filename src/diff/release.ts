// Two sides written by different kube-proxy releases: shapes differ where meaning does not.
// A service port whose summary is the same on both sides counts as unchanged, and the node-wide
// objects that only changed shape (kubeproxy/shapes.ts) are left out, unless the mark or
// masquerade options they carry differ. The difference is said once, in a note.
import { describeRelease, releasesDiffer } from '../kubeproxy/detect.js';
import { SERVICES_CHAIN } from '../kubeproxy/nftables-names.js';
import { IPTABLES_RELEASE_NFACCT, NFT_HAIRPIN_SET, NFT_MASQUERADE_CHAINS, nftServicesMasqueradeRule } from '../kubeproxy/shapes.js';
import type { ChainView, DiffSide, ServiceSummary } from './types.js';

export interface ReleasePair {
  old: string;
  new: string;
}

export function differentReleases(o: DiffSide, n: DiffSide): ReleasePair | undefined {
  return o.release && n.release && releasesDiffer(o.release, n.release) ? { old: o.release, new: n.release } : undefined;
}

export const sameMeaning = (a: ServiceSummary | null, b: ServiceSummary | null): boolean =>
  !!a && !!b && JSON.stringify(a) === JSON.stringify(b);

/** A view without the rules `drop` names and with the rest's keys rewritten by `rekey`. */
function reshape(v: ChainView, drop: (text: string) => boolean, rekey: (key: string) => string = (k) => k): ChainView {
  const kept = [...Array(v.size).keys()].filter((i) => !drop(v.text(i)));
  const keys = v.keys();
  return { ...v, sameAs: undefined, size: kept.length, keys: () => kept.map((i) => rekey(keys[i]!)), text: (i) => v.text(kept[i]!) };
}

const isMasqueradeChain = (v: ChainView) => NFT_MASQUERADE_CHAINS.some((c) => v.id === `chain ${c}`);

/** What the masquerade chains carry that packets see: the mark bits and fully-random. */
function masqueradeOptions(views: ChainView[]): string {
  const out = new Set<string>();
  for (const v of views.filter(isMasqueradeChain))
    for (let i = 0; i < v.size; i++) {
      const t = v.text(i);
      for (const h of t.match(/0x[0-9a-fA-F]+/g) ?? []) if (Number(h) !== 0) out.add(String(Number(h)));
      if (t.includes('fully-random')) out.add('fully-random');
    }
  return [...out].sort().join(',');
}

/** Both sides' node-wide views without what only changed shape between the two releases. */
export function withoutReleaseShape(backend: DiffSide['backend'], o: ChainView[], n: ChainView[]): [ChainView[], ChainView[]] {
  if (backend === 'iptables') {
    const counters = new RegExp(`( ; )?nfacct:(${IPTABLES_RELEASE_NFACCT.join('|')})\\b`, 'g');
    const uncounted = (k: string) => k.replace(counters, '');
    const strip = (vs: ChainView[]) => vs.map((v) => reshape(v, () => false, uncounted));
    return [strip(o), strip(n)];
  }
  const keepMasquerade = masqueradeOptions(o) !== masqueradeOptions(n);
  const strip = (vs: ChainView[]) =>
    vs
      .filter((v) => v.id !== NFT_HAIRPIN_SET && (keepMasquerade || !isMasqueradeChain(v)))
      .map((v) =>
        reshape(v, (t) => t.includes(` ${NFT_HAIRPIN_SET} {`) || (v.id === `chain ${SERVICES_CHAIN}` && nftServicesMasqueradeRule(t))),
      );
  return [strip(o), strip(n)];
}

/** The one note on a diff across releases. */
export function releaseNote(r: ReleasePair, shapeOnly: number, nodeWideShape: boolean): string {
  const what = [shapeOnly > 0 ? `${shapeOnly} service port${shapeOnly === 1 ? '' : 's'}` : '', nodeWideShape ? 'the node-wide rules' : '']
    .filter(Boolean)
    .join(' and ');
  const one = shapeOnly === 1 && !nodeWideShape;
  const counted = what ? `; ${what} ${one ? 'differs' : 'differ'} only in rule shape and ${one ? 'counts' : 'count'} as unchanged` : '';
  return `kube-proxy ${describeRelease(r.old)} rules on one side, ${describeRelease(r.new)} on the other: rule shapes differ by release${counted} (\`ktables diff --behaviour\` compares what packets do)`;
}
