// kube-proxy's nftables object names for the model's service ports (the builders, their inverse
// and the fixed names are kube-proxy's vocabulary, src/kubeproxy/nftables-names.ts).
import { nftEndpointNames, nftPortNames, type EndpointNames, type PortNames } from '../../kubeproxy/nftables-names.js';
import type { Endpoint, ServicePort } from '../../model/types.js';

export type { EndpointNames, PortNames };

export const portNames = (sp: ServicePort): PortNames => nftPortNames(sp.namespace, sp.name, sp.protocol, sp.portName);

export const endpointNames = (names: PortNames, ep: Endpoint): EndpointNames => nftEndpointNames(names, ep.ip, ep.port);

export {
  CLUSTER_IPS_CHECK_CHAIN,
  CLUSTER_IPS_SET,
  FIREWALL_CHECK_CHAIN,
  FIREWALL_IPS_MAP,
  HAIRPIN_SET,
  LOCALHOST_NODEPORT_REJECT_MAP,
  MARK_MASQ_CHAIN,
  MASQUERADING_CHAIN,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  NODEPORT_ENDPOINTS_CHECK_CHAIN,
  NODEPORT_IPS_SET,
  REJECT_CHAIN,
  SERVICE_ENDPOINTS_CHECK_CHAIN,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
  SERVICES_CHAIN,
  localhostNodePortRejectChain,
  localhostNodePortRejectCounter,
} from '../../kubeproxy/nftables-names.js';
