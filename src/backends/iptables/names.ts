// kube-proxy's iptables chain names: a prefix plus 16 base32 characters of a SHA-256.
import { hashPrefix } from '../../util/hash.js';
import type { Endpoint, ServicePort } from '../../model/types.js';

/** All four per-port chain names, hashing once. */
export function portChains(sp: ServicePort): { svc: string; svl: string; ext: string; fw: string } {
  const h = hashPrefix(sp.displayName + sp.protocol.toLowerCase(), 16);
  return { svc: `KUBE-SVC-${h}`, svl: `KUBE-SVL-${h}`, ext: `KUBE-EXT-${h}`, fw: `KUBE-FW-${h}` };
}

export function endpointChain(sp: ServicePort, ep: Endpoint): string {
  return 'KUBE-SEP-' + hashPrefix(sp.displayName + sp.protocol.toLowerCase() + ep.address, 16);
}

// Fixed chains.
export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_FIREWALL = 'KUBE-FIREWALL';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';

/** Per-service chain prefixes kube-proxy owns in nat (and deletes when stale). */
export const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'];

// nfacct counters kube-proxy creates and references.
export const NFACCT_INVALID_DROPPED = 'ct_state_invalid_dropped_pkts';
export const NFACCT_LOCALHOST_NODEPORTS = 'localhost_nps_accepted_pkts';
