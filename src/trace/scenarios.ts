// The packets a user cares about for each service port on a node (`ktables trace --all`): from a
// pod, from the node itself, from outside; to the cluster IP, every NodePort address, every
// LoadBalancer IP and external IP, and the health-check port. Backend-neutral: it reads the
// model and yields packets; any tracer answers them.
import type { Endpoint, NodeContext, ServicePort } from '../model/types.js';
import { cidrContains, formatIP, isLoopback, joinHostPort, nthAddress, parseCIDR, parseIP } from '../util/ip.js';
import type { TracePacket, TraceProtocol } from './packet.js';

export interface Scenario {
  service: string;
  protocol: TraceProtocol;
  destination: string;
  from: string;
  packet: TracePacket;
}

// Documentation ranges (RFC 5737 / RFC 3849): nobody's pod or node.
const EXTERNAL = { ipv4: '203.0.113.2', ipv6: '2001:db8:ffff::2' };
const OTHER_EXTERNAL = { ipv4: ['198.51.100.2', '192.0.2.2'], ipv6: ['2001:db8:eeee::2', '2001:db8:dddd::2'] };
// Used only when the node context says nothing about the pod network.
const FALLBACK_POD_CIDR = { ipv4: '10.244.0.0/16', ipv6: 'fd00:10:244::/64' };

/** The k-th address of a CIDR (k = 2: the first one that is neither network nor gateway). */
function hostIn(cidrText: string, k: number): string | undefined {
  const c = parseCIDR(cidrText.trim());
  const ip = c && nthAddress(c, k);
  return ip && formatIP(ip);
}

interface Source {
  from: string;
  src: string;
  inInterface?: string;
}

/** What scenarios read of a service port: a compile's model, or what a node's dump shows. */
export type ScenarioPort = Pick<
  ServicePort,
  | 'displayName'
  | 'protocol'
  | 'clusterIP'
  | 'port'
  | 'externalIPs'
  | 'loadBalancerVIPs'
  | 'loadBalancerSourceRanges'
  | 'nodePort'
  | 'healthCheckNodePort'
> & { endpoints: Pick<Endpoint, 'ip'>[] };
export type ScenarioNode = Pick<NodeContext, 'family' | 'nodeIPs' | 'localDetector' | 'nodePorts'>;

export function serviceScenarios(model: { node: ScenarioNode; servicePorts: ScenarioPort[] }): { scenarios: Scenario[]; notes: string[] } {
  const node = model.node;
  const fam = node.family;
  const notes: string[] = [];
  const familyIPs = node.nodeIPs.filter((ip) => parseIP(ip)?.family === fam);
  const det = node.localDetector;
  const interfaceDetector = det.mode === 'BridgeInterface' || det.mode === 'InterfaceNamePrefix';
  const podInterface =
    det.mode === 'BridgeInterface' ? det.interfaceName : det.mode === 'InterfaceNamePrefix' ? `${det.interfacePrefix}0` : undefined;
  // With an interface detector every packet from outside needs an interface too; any name the
  // detector does not claim will do.
  const outsideInterface = interfaceDetector ? (podInterface?.startsWith('eth') ? 'ext0' : 'eth0') : undefined;
  const podCIDR = det.mode === 'ClusterCIDR' || det.mode === 'NodeCIDR' ? det.cidrs[0]! : FALLBACK_POD_CIDR[fam];
  if (!(det.mode === 'ClusterCIDR' || det.mode === 'NodeCIDR'))
    notes.push(`pod addresses taken from ${podCIDR} (the node context has no pod CIDR)`);
  if (familyIPs.length === 0)
    notes.push('no node IP of this family is known (give --node-ip): no rows from the node or to NodePorts on node addresses');
  if (interfaceDetector) notes.push(`pods send on ${podInterface}, everything else arrives on ${outsideInterface}`);

  const withIface = (s: Source, iface: string | undefined): Source => (iface ? { ...s, inInterface: iface } : s);

  const scenarios: Scenario[] = [];
  for (const sp of model.servicePorts) {
    const protocol = sp.protocol.toLowerCase() as TraceProtocol;
    const pod = withIface({ from: '', src: podAddress(sp, node, podCIDR) }, podInterface);
    pod.from = `pod ${pod.src}`;
    const ext = withIface({ from: `external ${EXTERNAL[fam]}`, src: EXTERNAL[fam] }, outsideInterface);
    const self: Source[] = familyIPs.length > 0 ? [{ from: `node ${familyIPs[0]}`, src: familyIPs[0]! }] : [];
    const everyone = [pod, ...self, ext];
    const add = (destination: string, dst: string, dport: number, sources: Source[], proto: TraceProtocol = protocol) => {
      for (const s of sources) {
        const packet: TracePacket = { src: s.src, dst, dport, protocol: proto };
        if (s.inInterface) packet.inInterface = s.inInterface;
        scenarios.push({ service: sp.displayName, protocol: proto, destination, from: s.from, packet });
      }
    };

    // A dump may show a port only by its NodePort or external IP (clusterIP '').
    if (sp.clusterIP) add(`cluster IP ${joinHostPort(sp.clusterIP, sp.port)}`, sp.clusterIP, sp.port, everyone);
    for (const ip of sp.externalIPs) add(`external IP ${joinHostPort(ip, sp.port)}`, ip, sp.port, everyone);
    for (const ip of sp.loadBalancerVIPs) {
      let sources = everyone;
      const ranges = sp.loadBalancerSourceRanges;
      if (ranges.length > 0) {
        // loadBalancerSourceRanges: one client they let in and one they keep out.
        const taken = new Set([...familyIPs, pod.src]);
        const allowed = allowedClient(ranges, taken);
        const outside = [EXTERNAL[fam], ...OTHER_EXTERNAL[fam]].find((a) => !inRanges(a, ranges) && !taken.has(a));
        sources = [pod, ...self];
        if (allowed) sources.push(withIface({ from: `external ${allowed.ip} (in ${allowed.range})`, src: allowed.ip }, outsideInterface));
        if (outside) sources.push(withIface({ from: `external ${outside} (outside the source ranges)`, src: outside }, outsideInterface));
      }
      add(`LoadBalancer ${joinHostPort(ip, sp.port)}`, ip, sp.port, sources);
    }
    if (sp.nodePort !== 0) {
      for (const ip of nodePortAddresses(node, familyIPs)) {
        const lo = isLoopback(parseIP(ip)!);
        add(`NodePort ${joinHostPort(ip, sp.nodePort)}`, ip, sp.nodePort, lo ? [{ from: 'localhost', src: ip }] : everyone);
      }
    }
    if (sp.healthCheckNodePort !== 0 && familyIPs.length > 0) {
      add(`health check ${joinHostPort(familyIPs[0]!, sp.healthCheckNodePort)}`, familyIPs[0]!, sp.healthCheckNodePort, [ext], 'tcp');
    }
  }
  return { scenarios, notes };
}

/** Where NodePorts answer: every node address (and IPv4 localhost), or the configured ones. */
function nodePortAddresses(node: ScenarioNode, familyIPs: string[]): string[] {
  if (node.nodePorts.matchAll) return node.family === 'ipv4' ? [...familyIPs, '127.0.0.1'] : familyIPs;
  return node.nodePorts.addresses.filter((ip) => {
    const p = parseIP(ip);
    return p?.family === node.family && (!isLoopback(p) || node.family === 'ipv4');
  });
}

function inRanges(ip: string, ranges: string[]): boolean {
  const p = parseIP(ip);
  return (
    !!p &&
    ranges.some((r) => {
      const c = parseCIDR(r.trim());
      return !!c && cidrContains(c, p);
    })
  );
}

function allowedClient(ranges: string[], taken: Set<string>): { ip: string; range: string } | undefined {
  for (const range of ranges) {
    for (let k = 2; k < 20; k++) {
      const ip = hostIn(range, k);
      if (ip && !taken.has(ip)) return { ip, range };
    }
  }
  return undefined;
}

/** A pod address that is not one of the service's endpoints (that would be the hairpin case). */
function podAddress(sp: ScenarioPort, node: ScenarioNode, cidr: string): string {
  const taken = new Set([...sp.endpoints.map((e) => e.ip), ...node.nodeIPs, sp.clusterIP]);
  for (let k = 2; k < 300; k++) {
    const ip = hostIn(cidr, k);
    if (ip && !taken.has(ip)) return ip;
  }
  return hostIn(cidr, 2) ?? cidr.split('/')[0]!;
}
