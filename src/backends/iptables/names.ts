// kube-proxy's iptables chain names for the model's service ports (the builders and their
// inverses are kube-proxy's vocabulary, src/kubeproxy/iptables-names.ts).
import { endpointChainName, portChainNames } from '../../kubeproxy/iptables-names.js';
import type { Endpoint, ServicePort } from '../../model/types.js';

/** All four per-port chain names, hashing once. */
export const portChains = (sp: ServicePort): { svc: string; svl: string; ext: string; fw: string } =>
  portChainNames(sp.displayName, sp.protocol);

export const endpointChain = (sp: ServicePort, ep: Endpoint): string => endpointChainName(sp.displayName, sp.protocol, ep.address);

export {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  SERVICE_CHAIN_PREFIXES,
} from '../../kubeproxy/iptables-names.js';

// nfacct counters kube-proxy creates and references (named once, in kube-proxy's vocabulary).
export {
  INVALID_DROP_NFACCT as NFACCT_INVALID_DROPPED,
  LOCALHOST_NODEPORT_NFACCT as NFACCT_LOCALHOST_NODEPORTS,
} from '../../kubeproxy/detect.js';
