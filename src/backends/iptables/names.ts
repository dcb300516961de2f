// kube-proxy's iptables chain names for the model's service ports (the builders and their
// inverses are kube-proxy's vocabulary, src/kubeproxy/iptables-names.ts).
import { endpointChainName, portChainNames } from '../../kubeproxy/iptables-names.js';
import type { Endpoint, ServicePort } from '../../model/types.js';

/** All four per-port chain names, hashing once. */
export const portChains = (sp: ServicePort): { svc: string; svl: string; ext: string; fw: string } =>
  portChainNames(sp.displayName, sp.protocol);

export const endpointChain = (sp: ServicePort, ep: Endpoint): string => endpointChainName(sp.displayName, sp.protocol, ep.address);

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

// nfacct counters kube-proxy creates and references (named once, in kube-proxy's vocabulary).
export {
  INVALID_DROP_NFACCT as NFACCT_INVALID_DROPPED,
  LOCALHOST_NODEPORT_NFACCT as NFACCT_LOCALHOST_NODEPORTS,
} from '../../kubeproxy/detect.js';
