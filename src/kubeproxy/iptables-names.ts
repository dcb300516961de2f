// kube-proxy's iptables chain names, both ways: the builders the backend writes them with and the
// inverses diff reads them back with. A per-service chain is a prefix plus 16 base32 characters
// of a SHA-256 of the service port name and protocol (and, for endpoint chains, the endpoint as
// the DNAT writes it).
import { hashedName, hashedNames, hashPrefix } from '../util/hash.js';

export type Role = 'SVC' | 'SVL' | 'EXT' | 'FW' | 'SEP';

export const ROLE_PREFIX: Record<Role, string> = {
  SVC: 'KUBE-SVC-',
  SVL: 'KUBE-SVL-',
  EXT: 'KUBE-EXT-',
  FW: 'KUBE-FW-',
  SEP: 'KUBE-SEP-',
};

/** The hash of a service port's chains: `ns/name[:port]` and the protocol (lower case). */
export const portChainHash = (servicePort: string, protocol: string): string => hashPrefix(servicePort + protocol.toLowerCase(), 16);

const PORT_PREFIXES = [ROLE_PREFIX.SVC, ROLE_PREFIX.SVL, ROLE_PREFIX.EXT, ROLE_PREFIX.FW];

// The builders make each name as one flat string (hashedName), not prefix + hash: a large cluster
// keeps ~10^5 of them, each also hashed as a map key.

/** All four per-port chain names, hashing once. */
export function portChainNames(servicePort: string, protocol: string): { svc: string; svl: string; ext: string; fw: string } {
  const [svc, svl, ext, fw] = hashedNames(PORT_PREFIXES, servicePort + protocol.toLowerCase(), 16);
  return { svc: svc!, svl: svl!, ext: ext!, fw: fw! };
}

/** An endpoint chain's hash: the endpoint as the DNAT writes it (`ip:port`, `[ip6]:port`). */
export const endpointChainHash = (servicePort: string, protocol: string, endpoint: string): string =>
  hashPrefix(servicePort + protocol.toLowerCase() + endpoint, 16);

export const endpointChainName = (servicePort: string, protocol: string, endpoint: string): string =>
  hashedName(ROLE_PREFIX.SEP, servicePort + protocol.toLowerCase() + endpoint, 16);

/** A chain named as kube-proxy names its chains (other programs use the prefix too: isOthersKubeChain). */
export const isKubeChain = (chain: string): boolean => chain.startsWith('KUBE-');

/** The role a chain name says it has (the inverse of the builders above). */
export function roleOf(chain: string): Role | undefined {
  if (!chain.startsWith('KUBE-')) return undefined;
  // Called for every chain and jump of a large rule set: no allocation, few comparisons.
  switch (chain.charCodeAt(5)) {
    case 83: // S
      return chain.startsWith('KUBE-SVC-')
        ? 'SVC'
        : chain.startsWith('KUBE-SEP-')
          ? 'SEP'
          : chain.startsWith('KUBE-SVL-')
            ? 'SVL'
            : undefined;
    case 69: // E
      return chain.startsWith('KUBE-EXT-') ? 'EXT' : undefined;
    case 70: // F
      return chain.startsWith('KUBE-FW-') ? 'FW' : undefined;
    default:
      return undefined;
  }
}

// kube-router (the k3s default) names its chains KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*, ...
const KUBE_ROUTER = /^KUBE-(ROUTER-|NWPLCY-|POD-FW-|SRC-|DST-)/;

/** A KUBE-* chain another program owns (kube-router's): not to be read as kube-proxy's. */
export function isOthersKubeChain(name: string): boolean {
  return KUBE_ROUTER.test(name);
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
/** The empty chain kube-proxy creates in mangle, nat and filter to notice a flush of its tables. */
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';

/**
 * Every KUBE-* chain with a fixed name that is kube-proxy's (iptables and ipvs modes) or the
 * kubelet's: a node dump's chains of these names belong to no one else.
 */
export const FIXED_KUBE_CHAINS: ReadonlySet<string> = new Set([
  KUBE_SERVICES,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_MARK_MASQ,
  'KUBE-MARK-DROP',
  KUBE_FORWARD,
  KUBE_FIREWALL,
  KUBE_EXTERNAL_SERVICES,
  KUBE_PROXY_FIREWALL,
  KUBE_PROXY_CANARY,
  'KUBE-KUBELET-CANARY',
  'KUBE-IPTABLES-HINT',
  // ipvs mode
  'KUBE-LOAD-BALANCER',
  'KUBE-NODE-PORT',
  'KUBE-IPVS-FILTER',
  'KUBE-IPVS-OUT-FILTER',
  'KUBE-SOURCE-RANGES-FIREWALL',
]);

/** Per-service chain prefixes kube-proxy owns in nat (and deletes when stale). */
export const SERVICE_CHAIN_PREFIXES = Object.values(ROLE_PREFIX);

/** Chains in which every service port has its own rules, by table. */
const SHARED_CHAINS: Record<string, string[]> = {
  nat: [KUBE_SERVICES, KUBE_NODEPORTS],
  filter: [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL],
};

export function isShared(table: string, chain: string): boolean {
  return SHARED_CHAINS[table]?.includes(chain) ?? false;
}
