// kube-proxy's rules by release: the ONE place that knows which release changed what. Each
// entry names the kube-proxy PR and the first release that has it; backends read the resulting
// flags (e.g. `r.nftInlineMasqueradeMark`) and never compare versions themselves.
/** kube-proxy's proxy modes that ktables models (its --proxy-mode). */
export type ProxyMode = 'iptables' | 'nftables';

/** A kube-proxy release as major.minor; patch levels never change the rules. */
export interface KubeProxyVersion {
  major: number;
  minor: number;
}

interface ReleaseChange {
  key: string;
  mode: ProxyMode | 'both';
  /** First release (minor of 1.x) whose rules have it. */
  since: number;
  prs: string[];
  what: string;
}

/** Newest first within a mode, so the README table reads top-down. */
const RELEASE_CHANGES = [
  {
    key: 'nftLocalhostNodePortsGate',
    mode: 'nftables',
    since: 37,
    prs: ['#138427'],
    what: 'feature gate KubeProxyNFTablesLocalhostNodePorts: localhost-nodeport-reject-ports map, localhost-nodeport-reject-<proto> chains and counters',
  },
  {
    key: 'nodePortAddressKeywords',
    mode: 'both',
    since: 37,
    prs: ['#138427'],
    what: '--nodeport-addresses accepts the keywords primary, localhost and all mixed with CIDRs',
  },
  {
    key: 'nftSingleEndpointDnat',
    mode: 'nftables',
    since: 37,
    prs: ['#140723', '#140960'],
    what: 'a service chain with one endpoint and no affinity DNATs with `dnat to IP:PORT`',
  },
  { key: 'nftTruncatedComments', mode: 'nftables', since: 37, prs: ['#139516'], what: 'no-endpoint map element comments cut to 128 bytes' },
  {
    key: 'nftInlineMasqueradeMark',
    mode: 'nftables',
    since: 36,
    prs: ['#135800'],
    what: 'no mark-for-masquerade chain: `mark set mark or MARK` inline; one masquerading rule',
  },
  {
    key: 'nftHairpinSet',
    mode: 'nftables',
    since: 36,
    prs: ['#136499'],
    what: 'hairpin-connections set and its masquerading rule, instead of a hairpin rule per endpoint chain',
  },
  {
    key: 'nftServicesClusterIPMasquerade',
    mode: 'nftables',
    since: 36,
    prs: ['#136499'],
    what: 'one ClusterIP masquerade rule at the top of services, on @cluster-ips',
  },
  {
    key: 'nftDirectDnat',
    mode: 'nftables',
    since: 36,
    prs: ['#136499'],
    what: 'services without affinity DNAT through `numgen ... map`; endpoint chains only for session affinity',
  },
  {
    key: 'iptLocalhostNodePortsNfacct',
    mode: 'iptables',
    since: 31,
    prs: ['#125015'],
    what: 'the localhost_nps_accepted_pkts nfacct rule for localhost NodePorts',
  },
  {
    key: 'iptInvalidDropNfacct',
    mode: 'iptables',
    since: 30,
    prs: ['#122812'],
    what: 'nfacct counter ct_state_invalid_dropped_pkts on the INVALID drop rule',
  },
] as const satisfies readonly ReleaseChange[];

type ReleaseKey = (typeof RELEASE_CHANGES)[number]['key'];
/** The behaviours of one (mode, release): true where the release has the change. */
export type Release = { readonly version: string } & { readonly [K in ReleaseKey]: boolean };

/** The releases ktables models, per mode (1.x minors, inclusive). */
const SUPPORTED: Record<ProxyMode, { from: number; to: number }> = {
  iptables: { from: 29, to: 37 },
  nftables: { from: 35, to: 37 },
};
export const NEWEST: KubeProxyVersion = { major: 1, minor: 37 };

export const formatVersion = (v: KubeProxyVersion): string => `${v.major}.${v.minor}`;
export const supportedRange = (mode: ProxyMode): string => `1.${SUPPORTED[mode].from} to 1.${SUPPORTED[mode].to}`;

/**
 * `1.37`, `v1.36.2`, `v1.36.2-eks-1234` (a kubelet's gitVersion) → major.minor; anything
 * else → undefined.
 */
export function parseKubeProxyVersion(text: string): KubeProxyVersion | undefined {
  const m = /^v?(\d{1,3})\.(\d{1,3})(?:\.\d{1,6})?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

export function isSupported(mode: ProxyMode, v: KubeProxyVersion): boolean {
  return v.major === 1 && v.minor >= SUPPORTED[mode].from && v.minor <= SUPPORTED[mode].to;
}

/** The behaviour flags of a release in a mode (changes of the other mode are all false). */
export function releaseBehaviours(mode: ProxyMode, v: KubeProxyVersion): Release {
  const r: Record<string, boolean | string> = { version: formatVersion(v) };
  for (const c of RELEASE_CHANGES) r[c.key] = (c.mode === mode || c.mode === 'both') && v.major === 1 && v.minor >= c.since;
  return r as Release;
}
