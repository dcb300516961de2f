// kube-proxy's nftables object names, both ways. A per-service-port object is a role prefix, 8
// base32 characters of a SHA-256 and a readable base (namespace/name/protocol/port, plus
// `__ip/port` for per-endpoint objects), so nearly identical names stay apart and a truncated
// name stays unique. The builders are what the backend writes; nftOwner reads a name back.
import { canonicalHostPort } from '../util/canonical.js';
import { hashPrefix } from '../util/hash.js';

/** What a per-service object is for: the chains of a port, of an endpoint, and its affinity set. */
export type NftRole = 'service' | 'local' | 'external' | 'firewall' | 'endpoint' | 'affinity';

/** knftables' name limit (256) minus room for the longest prefix ("endpoint-", "firewall-"...). */
const BASE_LENGTH_MAX = 256 - 16;

function hashAndTruncate(name: string): string {
  const full = `${hashPrefix(name, 8)}-${name}`;
  return full.length > BASE_LENGTH_MAX ? `${full.slice(0, BASE_LENGTH_MAX - 3)}...` : full;
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

export function nftPortNames(namespace: string, name: string, protocol: string, portName: string): PortNames {
  const base = `${namespace}/${name}/${protocol.toLowerCase()}/${portName}`;
  const hashed = hashAndTruncate(base);
  return { service: `service-${hashed}`, local: `local-${hashed}`, external: `external-${hashed}`, firewall: `firewall-${hashed}`, base };
}

/** Per-endpoint names: the endpoint chain and its ClientIP affinity set. */
export interface EndpointNames {
  chain: string;
  affinitySet: string;
}

export function nftEndpointNames(port: PortNames, ip: string, portNumber: number): EndpointNames {
  // nft names may not contain ':', so IPv6 colons become dots (the port keeps its own '/').
  const hashed = hashAndTruncate(`${port.base}__${ip.replaceAll(':', '.')}/${portNumber}`);
  return { chain: `endpoint-${hashed}`, affinitySet: `affinity-${hashed}` };
}

export interface NftOwner {
  /** kube-proxy's service port name: `ns/name` or `ns/name:port`. */
  service: string;
  role: NftRole;
  protocol: string;
  /** Per-endpoint objects: the endpoint (canonical ip:port). */
  endpoint?: string;
}

const PORT_NAME = /^(service|local|external|firewall)-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/([a-z]+)\/(.*)$/;
const ENDPOINT_NAME = /^(endpoint|affinity)-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/([a-z]+)\/([^/]*?)__(.+)\/(\d+)$/;
const ROLE = /^(service|local|external|firewall|endpoint|affinity)-/;

const portName = (ns: string, name: string, port: string) => (port ? `${ns}/${name}:${port}` : `${ns}/${name}`);

/** What an object's name says about its owner (the inverse of the builders), unless the name was truncated. */
export function nftOwner(name: string): NftOwner | undefined {
  if (name.endsWith('...')) return undefined;
  const p = PORT_NAME.exec(name);
  if (p) return { service: portName(p[2]!, p[3]!, p[5]!), role: p[1] as NftRole, protocol: p[4]! };
  const e = ENDPOINT_NAME.exec(name);
  if (!e) return undefined;
  // kube-proxy writes an IPv6 endpoint's colons as dots; four dot-separated decimals are IPv4.
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(e[6]!) ? e[6]! : e[6]!.replaceAll('.', ':');
  const endpoint = canonicalHostPort(ip.includes(':') ? `[${ip}]:${e[7]}` : `${ip}:${e[7]}`);
  return { service: portName(e[2]!, e[3]!, e[5]!), role: e[1] as NftRole, protocol: e[4]!, endpoint };
}

/** The role a name's prefix says, even when the rest was truncated. */
export const nftRoleOf = (name: string): NftRole | undefined => ROLE.exec(name)?.[1] as NftRole | undefined;

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

/** Maps whose elements lead to a service port's chains: an element belongs to its chain's port. */
export const PORT_CHAIN_MAPS: ReadonlySet<string> = new Set([SERVICE_IPS_MAP, SERVICE_NODEPORTS_MAP, FIREWALL_IPS_MAP]);
/** Maps whose elements name their service port in a comment. */
export const PORT_COMMENT_MAPS: ReadonlySet<string> = new Set([NO_ENDPOINT_SERVICES_MAP, NO_ENDPOINT_NODEPORTS_MAP]);
