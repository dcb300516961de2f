// kube-proxy's nftables object names for the model's service ports (the builders, their inverse
// and the fixed names are kube-proxy's vocabulary, src/kubeproxy/nftables-names.ts).
import { nftEndpointNames, nftPortNames, type EndpointNames, type PortNames } from '../../kubeproxy/nftables-names.js';
import type { Endpoint, ServicePort } from '../../model/types.js';

export type { EndpointNames, PortNames };

export const portNames = (sp: ServicePort): PortNames => nftPortNames(sp.namespace, sp.name, sp.protocol, sp.portName);

export const endpointNames = (names: PortNames, ep: Endpoint): EndpointNames => nftEndpointNames(names, ep.ip, ep.port);
