// kube-proxy's nftables object names: a readable base (namespace/name/protocol/port, plus the
// endpoint for per-endpoint objects) prefixed with 8 base32 characters of its SHA-256, so
// nearly identical names stay apart and a truncated name stays unique.
import type { Endpoint, ServicePort } from '../../model/types.js';
import { hashPrefix } from '../../util/hash.js';

/** knftables' name limit (256) minus room for the longest prefix ("endpoint-", "firewall-"...). */
const BASE_LENGTH_MAX = 256 - 16;

function hashAndTruncate(name: string): string {
  const full = `${hashPrefix(name, 8)}-${name}`;
  return full.length > BASE_LENGTH_MAX ? `${full.slice(0, BASE_LENGTH_MAX - 3)}...` : full;
}

/** The unhashed base of a service port: "ns/name/tcp/portName" (portName may be empty). */
function portBase(sp: ServicePort): string {
  return `${sp.namespace}/${sp.name}/${sp.protocol.toLowerCase()}/${sp.portName}`;
}

/** The per-service-port chain names; computed once per port. */
export interface PortNames {
  service: string; // endpoints for Cluster policy
  local: string; // endpoints for Local policy
  external: string; // NodePort / externalIP / LoadBalancer traffic
  firewall: string; // loadBalancerSourceRanges
  /** ns/name/proto/portName, the prefix of every endpoint name of this port. */
  base: string;
}

export function portNames(sp: ServicePort): PortNames {
  const base = portBase(sp);
  const hashed = hashAndTruncate(base);
  return { service: `service-${hashed}`, local: `local-${hashed}`, external: `external-${hashed}`, firewall: `firewall-${hashed}`, base };
}

/** Per-endpoint names: the endpoint chain and its ClientIP affinity set. */
export interface EndpointNames {
  chain: string;
  affinitySet: string;
}

export function endpointNames(names: PortNames, ep: Endpoint): EndpointNames {
  // nft names may not contain ':', so IPv6 colons become dots (the port keeps its own '/').
  const hashed = hashAndTruncate(`${names.base}__${ep.ip.replaceAll(':', '.')}/${ep.port}`);
  return { chain: `endpoint-${hashed}`, affinitySet: `affinity-${hashed}` };
}

// Fixed chains, sets and maps of the kube-proxy table.
export const SERVICES_CHAIN = 'services';
export const CLUSTER_IPS_CHECK_CHAIN = 'cluster-ips-check';
export const MASQUERADING_CHAIN = 'masquerading';
export const MARK_MASQ_CHAIN = 'mark-for-masquerade';
export const FIREWALL_CHECK_CHAIN = 'firewall-check';
export const SERVICE_ENDPOINTS_CHECK_CHAIN = 'service-endpoints-check';
export const NODEPORT_ENDPOINTS_CHECK_CHAIN = 'nodeport-endpoints-check';
export const REJECT_CHAIN = 'reject-chain';

export const HAIRPIN_SET = 'hairpin-connections';
export const LOCALHOST_NODEPORT_REJECT_MAP = 'localhost-nodeport-reject-ports';
export const localhostNodePortRejectChain = (proto: string) => `localhost-nodeport-reject-${proto}`;
export const localhostNodePortRejectCounter = (proto: string) => `localhost-nodeport-rejected-${proto}`;

export const CLUSTER_IPS_SET = 'cluster-ips';
export const NODEPORT_IPS_SET = 'nodeport-ips';
export const SERVICE_IPS_MAP = 'service-ips';
export const SERVICE_NODEPORTS_MAP = 'service-nodeports';
export const FIREWALL_IPS_MAP = 'firewall-ips';
export const NO_ENDPOINT_SERVICES_MAP = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS_MAP = 'no-endpoint-nodeports';
