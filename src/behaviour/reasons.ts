// The documented differences in kube-proxy's behaviour between proxy modes and releases: the
// only differences a behaviour diff explains, and the only ones the mode oracle test accepts.
// Each entry cites where kube-proxy documents or implements it, and names the flag that keeps
// the old behaviour where there is one. An entry claims a change only when the change has the
// entry's exact shape (which entry point, which side handles it and how).
import type { Family } from '../util/ip.js';
import type { Probe } from './entries.js';
import { isVerdict, notHandled, type Outcome } from './outcome.js';

export interface SideInfo {
  source: string;
  input: 'manifests' | 'iptables-rules' | 'nftables-rules';
  proxyMode: 'iptables' | 'nftables';
  /** The kube-proxy release the rules are for, when known (`--kube-proxy-version`). */
  kubeProxyVersion: string | null;
  family: Family;
  /** `--nodeport-addresses` as given for this side; undefined: the mode's default (or unknown). */
  nodePortAddresses?: string[];
}

export interface ChangeFacts {
  probe: Probe;
  old: Outcome;
  new: Outcome;
  sides: { old: SideInfo; new: SideInfo };
}

export interface Why {
  id: string;
  /** The cause, in a sentence. */
  text: string;
  /** Where kube-proxy documents or implements it. */
  source: string;
  /** The flag (on which side) that keeps the old behaviour, when one exists. */
  keep: string | null;
}

interface Documented {
  id: string;
  text: string;
  source: string;
  /** The iptables side and the nftables side of the change, whichever is old. */
  applies(ipt: Outcome, nft: Outcome, f: ChangeFacts, nftSide: SideInfo): boolean;
  /** Which flag keeps the old behaviour: from iptables to nftables, and back. */
  keep: { toNftables: string | null; toIptables: string | null };
}

const DOCS_MIGRATING = 'https://kubernetes.io/docs/reference/networking/virtual-ips/#migrating-from-iptables-mode-to-nftables';

/** Differences between iptables and nftables mode (same release, same flags otherwise). */
export const MODE_DIFFERENCES: readonly Documented[] = [
  {
    id: 'nodeport-addresses-default',
    text: "kube-proxy's default --nodeport-addresses differs by mode: iptables mode accepts NodePort connections on every local address, nftables mode only on the node's primary address(es)",
    source: `${DOCS_MIGRATING} ("NodePort interfaces"); kube-proxy's per-mode default of --nodeport-addresses (cmd/kube-proxy/app/server.go, "primary" for nftables)`,
    applies: (ipt, nft, f, nftSide) =>
      f.probe.entry === 'nodeport' && !notHandled(ipt) && notHandled(nft) && nftSide.nodePortAddresses === undefined,
    keep: {
      toNftables: '--nodeport-addresses 0.0.0.0/0 (or the CIDRs of the addresses to keep) on the nftables side',
      toIptables: '--nodeport-addresses primary on the iptables side',
    },
  },
  {
    id: 'localhost-nodeports',
    text: 'nftables mode does not accept NodePort connections on 127.0.0.1 (iptables mode does, through route_localnet and its KUBE-FIREWALL guard)',
    source: `${DOCS_MIGRATING} (nftables mode has no localhost NodePorts); pkg/proxy/nftables/proxier.go (loopback --nodeport-addresses are ignored; v1.37 adds the alpha gate KubeProxyNFTablesLocalhostNodePorts, off by default)`,
    applies: (ipt, nft, f) => f.probe.entry === 'localhost-nodeport' && !notHandled(ipt) && notHandled(nft),
    keep: { toNftables: null, toIptables: '--iptables-localhost-nodeports=false on the iptables side' },
  },
  {
    id: 'health-check-accept',
    text: "iptables mode adds a filter-table rule accepting the health-check node port (for nodes whose INPUT policy drops); nftables mode adds none, so the port is as open as the node's own firewall leaves it. kube-proxy's health server answers in both",
    source: `${DOCS_MIGRATING} ("NodePort interaction with firewalls"); pkg/proxy/iptables/proxier.go (the "health check node port" ACCEPT rule in the filter KUBE-NODEPORTS chain)`,
    applies: (ipt, nft, f) =>
      f.probe.entry === 'health-check' && isVerdict(ipt, 'ACCEPT') && notHandled(nft) && nft.branches.every((b) => b.delivery === 'local'),
    keep: { toNftables: null, toIptables: null },
  },
  {
    id: 'no-endpoints-from-node',
    text: "for a Service without endpoints, iptables mode rejects connections to its external IPs and LoadBalancer IPs only in INPUT and FORWARD (KUBE-EXTERNAL-SERVICES), so the node's own connections leave untouched; nftables mode checks the node's own connections too (filter-output jumps to service-endpoints-check) and rejects them",
    source:
      'pkg/proxy/iptables/proxier.go (KUBE-EXTERNAL-SERVICES is jumped to from INPUT and FORWARD only); pkg/proxy/nftables/proxier.go (filter-output: ct state new jump service-endpoints-check)',
    applies: (ipt, nft, f) =>
      f.probe.client === 'node' &&
      f.probe.noEndpoints &&
      (f.probe.entry === 'external-ip' || f.probe.entry === 'loadbalancer') &&
      notHandled(ipt) &&
      (isVerdict(nft, 'REJECT') || isVerdict(nft, 'DROP')),
    keep: { toNftables: null, toIptables: null },
  },
  {
    id: 'source-ranges-without-endpoints',
    text: 'for a LoadBalancer Service with loadBalancerSourceRanges and no endpoints, nftables mode still drops clients outside the ranges first (firewall-check runs before DNAT, whatever the endpoints); iptables mode writes the source-range chain only for Services with endpoints, so it rejects every client',
    source:
      'pkg/proxy/nftables/proxier.go (firewall-ips / firewall-check in the filter-prerouting-pre-dnat and filter-output-pre-dnat chains); pkg/proxy/iptables/proxier.go (usesFWChain requires hasEndpoints)',
    applies: (ipt, nft, f) =>
      f.probe.entry === 'loadbalancer' &&
      f.probe.noEndpoints &&
      (f.probe.ranges?.length ?? 0) > 0 &&
      f.probe.sourceRange !== 'inside' &&
      isVerdict(nft, 'DROP') &&
      (isVerdict(ipt, 'REJECT') || notHandled(ipt)),
    keep: { toNftables: null, toIptables: null },
  },
  {
    id: 'shared-destination',
    text: "two Services claim the same IP and port: iptables mode sends the connection to the first one in kube-proxy's processing order (the first matching rule in KUBE-SERVICES), nftables mode to the last one (the service-ips map holds one element per key, and a later one replaces it). The API server does not stop two Services from sharing an external IP",
    source:
      'pkg/proxy/iptables/proxier.go (one rule per Service in KUBE-SERVICES, first match wins); pkg/proxy/nftables/proxier.go (service-ips verdict map, elements keyed by address, protocol and port)',
    applies: (ipt, nft, f) => !!f.probe.shared && !notHandled(ipt) && !notHandled(nft),
    keep: { toNftables: null, toIptables: null },
  },
];

/** Why a change happened, when it is a documented difference between the two sides' modes. */
export function explain(f: ChangeFacts): Why | null {
  const { old: o, new: n } = f.sides;
  if (o.proxyMode === n.proxyMode) return null;
  const toNft = n.proxyMode === 'nftables';
  const ipt = toNft ? f.old : f.new;
  const nft = toNft ? f.new : f.old;
  const nftSide = toNft ? n : o;
  for (const d of MODE_DIFFERENCES) {
    if (d.applies(ipt, nft, f, nftSide))
      return { id: d.id, text: d.text, source: d.source, keep: toNft ? d.keep.toNftables : d.keep.toIptables };
  }
  return null;
}
