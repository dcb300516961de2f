// kube-proxy's iptables chain names for the model's service ports (the builders and their
// inverses are kube-proxy's vocabulary, src/kubeproxy/iptables-names.ts).
import { endpointChainName, portChainNames } from '../../kubeproxy/iptables-names.js';
import type { Endpoint, ServicePort } from '../../model/types.js';

/** All four per-port chain names, hashing once. */
export const portChains = (sp: ServicePort): { svc: string; svl: string; ext: string; fw: string } =>
  portChainNames(sp.displayName, sp.protocol);

export const endpointChain = (sp: ServicePort, ep: Endpoint): string => endpointChainName(sp.displayName, sp.protocol, ep.address);
