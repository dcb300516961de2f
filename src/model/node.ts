// The node context: kube-proxy's flags resolved against the Node object, the way kube-proxy's
// startup code (server.go / NewProxier) resolves them.
import { UsageError } from '../errors.js';
import type { NodeObject } from '../input/schemas.js';
import { ZONE_LABEL } from '../input/load.js';
import {
  NEWEST,
  formatVersion,
  isSupported,
  parseKubeProxyVersion,
  releaseBehaviours,
  supportedRange,
  type KubeProxyVersion,
  type Release,
} from '../kubeproxy/releases.js';
import { canonicalCIDR, canonicalIP, cidrContains, familyOf, formatCIDR, parseCIDR, parseIP } from '../util/ip.js';
import type { ProxyOptions } from './options.js';
import type { LocalDetector, NodeContext } from './types.js';

/** The mark as kube-proxy prints 1<<bit with Go's %#08x: 0x plus eight hex digits (bit 14: 0x00004000). */
function formatMark(bit: number): string {
  return `0x${(2 ** bit).toString(16).padStart(8, '0')}`;
}

function pickNode(nodes: NodeObject[], name: string | undefined): NodeObject | undefined {
  if (name !== undefined) return nodes.find((n) => n.metadata.name === name);
  return nodes.length === 1 ? nodes[0] : undefined;
}

function nodeAddresses(node: NodeObject | undefined): string[] {
  const out: string[] = [];
  for (const a of node?.status?.addresses ?? []) {
    if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') continue;
    const ip = canonicalIP(a.address);
    if (ip && !out.includes(ip)) out.push(ip);
  }
  return out;
}

function localDetector(opts: ProxyOptions, node: NodeObject | undefined): LocalDetector {
  const family = opts.ipFamily;
  const mode = opts.detectLocalMode ?? 'ClusterCIDR';
  switch (mode) {
    case 'ClusterCIDR':
    case 'NodeCIDR': {
      const source =
        mode === 'ClusterCIDR' ? opts.clusterCIDRs : [...(node?.spec?.podCIDRs ?? []), ...(node?.spec?.podCIDR ? [node.spec.podCIDR] : [])];
      const cidrs = [
        ...new Set(
          source
            .map((c) => parseCIDR(c))
            .filter((c) => c?.ip.family === family)
            .map((c) => formatCIDR(c!)),
        ),
      ];
      // kube-proxy uses the first CIDR of the family; without one it detects nothing.
      return cidrs.length > 0 ? { mode, cidrs: [cidrs[0]!] } : { mode: 'None' };
    }
    case 'BridgeInterface':
      if (!opts.podBridgeInterface) throw new UsageError('--detect-local-mode BridgeInterface needs --pod-bridge-interface');
      return { mode, interfaceName: opts.podBridgeInterface };
    case 'InterfaceNamePrefix':
      if (!opts.podInterfaceNamePrefix) throw new UsageError('--detect-local-mode InterfaceNamePrefix needs --pod-interface-name-prefix');
      return { mode, interfacePrefix: opts.podInterfaceNamePrefix };
    case 'None':
      return { mode: 'None' };
  }
}

/**
 * Which kube-proxy release's rules to write: --kube-proxy-version, else this node's kubelet
 * version (kube-proxy ships with the kubelet), else the newest release ktables models.
 */
function resolveRelease(opts: ProxyOptions, node: NodeObject | undefined, notes: string[]): Release {
  let version: KubeProxyVersion = NEWEST;
  let why = 'the newest release ktables models; set --kube-proxy-version';
  const kubelet = node?.status?.nodeInfo?.kubeletVersion ?? undefined;
  if (opts.kubeProxyVersion) {
    version = opts.kubeProxyVersion;
    why = '--kube-proxy-version';
  } else if (kubelet) {
    const v = parseKubeProxyVersion(kubelet);
    if (!v)
      throw new UsageError(
        `Node ${node!.metadata.name}: status.nodeInfo.kubeletVersion ${JSON.stringify(kubelet)} is not a version such as v1.37.1; set --kube-proxy-version`,
      );
    version = v;
    why = `Node ${node!.metadata.name} status.nodeInfo.kubeletVersion ${kubelet}`;
  }
  const mode = opts.proxyMode;
  if (!isSupported(mode, version)) {
    const source = why === '--kube-proxy-version' ? '--kube-proxy-version' : `kube-proxy ${formatVersion(version)} (from ${why})`;
    throw new UsageError(
      `${source}: ${formatVersion(version)} is not a release ktables models for --proxy-mode ${mode}; supported: ${supportedRange(mode)}${mode === 'nftables' ? ' (older nftables releases are not modelled)' : ''}`,
    );
  }
  notes.push(`kube-proxy version: ${formatVersion(version)} (${why})`);
  return releaseBehaviours(mode, version);
}

/** The localhost NodePort protocols kube-proxy 1.37+ rejects (and counts) with its gate on. */
function localhostNodePortRejects(
  opts: ProxyOptions,
  release: Release,
  explicitLoopback: boolean,
): NodeContext['localhostNodePortRejects'] {
  if (!opts.localhostNodePortsGate) return [];
  if (!release.nftLocalhostNodePortsGate) {
    throw new UsageError(
      `--feature-gates: KubeProxyNFTablesLocalhostNodePorts exists from kube-proxy 1.37 (nftables mode); this is ${opts.proxyMode} ${release.version}`,
    );
  }
  // With an explicit loopback NodePort address kube-proxy serves TCP itself (a userspace
  // proxy) and rejects only what that proxy cannot serve.
  return explicitLoopback ? ['udp', 'sctp'] : ['tcp', 'udp', 'sctp'];
}

export function nodeContext(opts: ProxyOptions, nodes: NodeObject[], notes: string[]): NodeContext {
  const family = opts.ipFamily;
  const node = pickNode(nodes, opts.hostnameOverride);
  const nodeName = (opts.hostnameOverride ?? node?.metadata.name ?? opts.hostname ?? '').toLowerCase();
  if (opts.hostnameOverride === undefined)
    notes.push(`node name: ${nodeName} (${node ? 'the Node object in the input' : "this machine's hostname"}; set --hostname-override)`);
  const release = resolveRelease(opts, node, notes);

  const nodeIPs = opts.nodeIPs.length > 0 ? opts.nodeIPs.map((ip) => canonicalIP(ip)!) : nodeAddresses(node);
  if (opts.nodeIPs.length === 0)
    notes.push(nodeIPs.length ? `node IPs from the Node object: ${nodeIPs.join(', ')}` : 'no node IPs known (set --node-ip)');
  const primaryNodeIP = nodeIPs.find((ip) => familyOf(ip) === family);

  // NodePort addresses: kube-proxy's per-mode default, "primary" expanded to the primary IP.
  let npa = opts.nodePortAddresses;
  if (npa === undefined && opts.proxyMode === 'nftables') npa = ['primary'];
  const keyword = npa?.find((c) => c === 'localhost' || c === 'all');
  if (keyword && !release.nodePortAddressKeywords) {
    throw new UsageError(
      `--nodeport-addresses: the keyword ${keyword} exists from kube-proxy 1.37; this is ${release.version} (give CIDRs)`,
    );
  }
  const loopbackCIDR = family === 'ipv4' ? '127.0.0.0/8' : '::1/128';
  let explicitLoopback = false;
  let nodePorts: NodeContext['nodePorts'] = { matchAll: true };
  if (npa && npa.length > 0) {
    const cidrs = npa.flatMap((c) => {
      if (c === 'primary') {
        const p = primaryNodeIP ? parseIP(primaryNodeIP) : undefined;
        return p ? [{ ip: p, prefix: p.family === 'ipv4' ? 32 : 128 }] : [];
      }
      if (c === 'all') c = family === 'ipv4' ? '0.0.0.0/0' : '::/0';
      if (c === 'localhost') c = loopbackCIDR;
      const parsed = parseCIDR(c);
      if (parsed && parsed.ip.family === family && parsed.prefix > 0 && cidrContains(parsed, parseIP(loopbackCIDR.split('/')[0]!)!))
        explicitLoopback = true;
      return parsed && parsed.ip.family === family ? [parsed] : [];
    });
    // NewNodePortAddresses: no CIDR of this family means the zero CIDR, i.e. every address.
    if (cidrs.length === 0 || cidrs.some((c) => c.prefix === 0)) nodePorts = { matchAll: true };
    else {
      const candidates = ['127.0.0.1', '::1', ...nodeIPs];
      const addresses = candidates.filter((ip) => {
        const p = parseIP(ip)!;
        return cidrs.some((c) => cidrContains(c, p));
      });
      nodePorts = { matchAll: false, addresses: [...new Set(addresses)] };
    }
  }
  // NewProxier: localhost NodePorts only for IPv4, and only if the addresses include 127.0.0.0/8.
  const hasV4Loopback = nodePorts.matchAll || nodePorts.addresses.some((ip) => ip.startsWith('127.'));
  const localhostNodePorts = opts.localhostNodePorts && family === 'ipv4' && hasV4Loopback;

  const detector = localDetector(opts, node);
  if (detector.mode === 'None' && (opts.detectLocalMode ?? 'ClusterCIDR') !== 'None') {
    notes.push(
      `local traffic detection is off: no ${family} CIDR for --detect-local-mode ${opts.detectLocalMode ?? 'ClusterCIDR'} (set --cluster-cidr)`,
    );
  }
  const zone = node?.metadata.labels?.[ZONE_LABEL];
  return {
    family,
    nodeName,
    nodeIPs,
    primaryNodeIP,
    zone: zone === undefined || zone === '' ? undefined : zone,
    localDetector: detector,
    masqueradeAll: opts.masqueradeAll,
    masqueradeMark: opts.masqueradeMark ?? formatMark(opts.masqueradeBit),
    nodePorts,
    localhostNodePorts,
    nfacct: opts.nfacct,
    randomFully: opts.randomFully,
    conntrackTcpBeLiberal: opts.conntrackTcpBeLiberal,
    release,
    localhostNodePortRejects: opts.proxyMode === 'nftables' ? localhostNodePortRejects(opts, release, explicitLoopback) : [],
    serviceCIDRs: opts.serviceClusterIPRanges.map((c) => canonicalCIDR(c)!).filter((c) => familyOf(c.split('/')[0]!) === family),
  };
}
