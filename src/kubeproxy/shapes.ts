// What kube-proxy releases write differently without doing anything different: the node-wide
// objects whose shape changed by release (releases.ts). diff leaves these out of a comparison
// across releases and says so once; packets are compared by `ktables diff --behaviour`.
import { INVALID_DROP_NFACCT, LOCALHOST_NODEPORT_NFACCT } from './detect.js';

/** nftables chains that mark and masquerade: v1.35 jumps to a chain, v1.36+ marks inline (PR #135800). */
export const NFT_MASQUERADE_CHAINS: readonly string[] = ['mark-for-masquerade', 'masquerading'];
/** v1.36+: the set the hairpin masquerade looks local endpoints up in (PR #136499). */
export const NFT_HAIRPIN_SET = 'hairpin-connections';
/** v1.36+: the one cluster-IP masquerade rule at the top of `services` (its meaning is in each service port). */
export const nftServicesMasqueradeRule = (text: string): boolean => /@cluster-ips\b.*\bmark set\b/.test(text);
/** iptables counters that only count (PR #122812, #125015). */
export const IPTABLES_RELEASE_NFACCT: readonly string[] = [INVALID_DROP_NFACCT, LOCALHOST_NODEPORT_NFACCT];
