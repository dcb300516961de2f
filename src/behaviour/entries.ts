// The packets a behaviour diff sends: every entry point of every service port (trace --all's
// scenarios), from every kind of client, for both sides at once. A side may listen where the
// other does not (NodePorts on other addresses, localhost), so the set is the union of both
// sides' entry points and each packet goes through both sides' rules.
import type { ProxyModel } from '../model/types.js';
import { categorizeEndpoints } from '../model/topology.js';
import { serviceScenarios, type Scenario } from '../trace/scenarios.js';
import { parseIP, isLoopback } from '../util/ip.js';

type EntryKind = 'cluster-ip' | 'nodeport' | 'localhost-nodeport' | 'external-ip' | 'loadbalancer' | 'health-check';
type ClientKind = 'pod' | 'pod-elsewhere' | 'node' | 'external' | 'localhost';

export interface Probe extends Scenario {
  entry: EntryKind;
  client: ClientKind;
  /** A LoadBalancer client inside / outside loadBalancerSourceRanges, when the Service has ranges. */
  sourceRange?: 'inside' | 'outside';
  /** The service port's loadBalancerSourceRanges (LoadBalancer entries). */
  ranges?: string[];
  /** The service port has no usable endpoints (kube-proxy's CategorizeEndpoints finds none). */
  noEndpoints: boolean;
  /** Another service port claims the same destination (address, port, protocol). */
  shared?: boolean;
}

function entryKind(s: Scenario): EntryKind {
  const d = s.destination;
  if (d.startsWith('cluster IP')) return 'cluster-ip';
  if (d.startsWith('external IP')) return 'external-ip';
  if (d.startsWith('LoadBalancer')) return 'loadbalancer';
  if (d.startsWith('health check')) return 'health-check';
  const ip = parseIP(s.packet.dst);
  return ip && isLoopback(ip) ? 'localhost-nodeport' : 'nodeport';
}

function clientKind(s: Scenario): ClientKind {
  if (s.from === 'localhost') return 'localhost';
  if (s.from.startsWith('pod elsewhere')) return 'pod-elsewhere';
  if (s.from.startsWith('pod ')) return 'pod';
  if (s.from.startsWith('node ')) return 'node';
  return 'external';
}

/**
 * A pod on another node: its packets to a cluster IP never reach this node (its own node
 * translates them), but to NodePorts, external and LoadBalancer IPs they do, arriving from the
 * wire. With interface-based local detection that is what sets them apart from local pods.
 */
function elsewhere(model: ProxyModel, s: Scenario): Scenario | undefined {
  if (!s.from.startsWith('pod ') || s.destination.startsWith('cluster IP')) return undefined;
  const det = model.node.localDetector;
  const packet = { ...s.packet };
  if (det.mode === 'BridgeInterface' || det.mode === 'InterfaceNamePrefix') {
    const podIface = det.mode === 'BridgeInterface' ? det.interfaceName : `${det.interfacePrefix}0`;
    packet.inInterface = podIface.startsWith('eth') ? 'ext0' : 'eth0';
  } else {
    // Address-based detection cannot tell a pod elsewhere from a local pod (ClusterCIDR) or
    // from an external client (NodeCIDR): the rows that exist already cover it.
    return undefined;
  }
  return { ...s, from: `pod elsewhere ${packet.src}`, packet };
}

function probesOf(model: ProxyModel): { probes: Probe[]; notes: string[] } {
  const { scenarios, notes } = serviceScenarios(model);
  const ports = new Map(model.servicePorts.map((sp) => [`${sp.displayName}\0${sp.protocol.toLowerCase()}`, sp]));
  const topo = { nodeName: model.node.nodeName, zone: model.node.zone, nodeHints: true };
  const probes: Probe[] = [];
  for (const s of scenarios) {
    const sp = ports.get(`${s.service}\0${s.protocol}`);
    for (const x of [s, elsewhere(model, s)]) {
      if (!x) continue;
      const p: Probe = {
        ...x,
        entry: entryKind(x),
        client: clientKind(x),
        noEndpoints: !sp || !categorizeEndpoints(sp, topo).hasAnyEndpoints,
      };
      if (p.entry === 'loadbalancer' && sp) p.ranges = sp.loadBalancerSourceRanges;
      if (p.entry === 'loadbalancer' && x.from.includes('(in ')) p.sourceRange = 'inside';
      if (p.entry === 'loadbalancer' && x.from.includes('(outside')) p.sourceRange = 'outside';
      probes.push(p);
    }
  }
  return { probes, notes };
}

const probeKey = (p: Probe) => `${p.service}\0${p.protocol}\0${p.destination}\0${p.from}`;

/** Both sides' probes without repeats, grouped by service port in the order they first appear. */
export function unionProbes(models: ProxyModel[]): { probes: Probe[]; notes: string[] } {
  const byService = new Map<string, Probe[]>();
  const seen = new Set<string>();
  const notes: string[] = [];
  for (const m of models) {
    const r = probesOf(m);
    for (const n of r.notes) if (!notes.includes(n)) notes.push(n);
    // A probe only one side has goes right after the probe before it on that side, so the
    // order is the same whichever side is old.
    let after: Probe | undefined;
    for (const p of r.probes) {
      const k = probeKey(p);
      const sk = `${p.service}\0${p.protocol}`;
      const list = byService.get(sk) ?? [];
      byService.set(sk, list);
      if (!seen.has(k)) {
        seen.add(k);
        const at =
          after && after.service === p.service && after.protocol === p.protocol
            ? list.findIndex((x) => probeKey(x) === probeKey(after!)) + 1
            : 0;
        list.splice(at, 0, p);
      }
      after = list.find((x) => probeKey(x) === k);
    }
  }
  const probes = [...byService.values()].flat();
  // Two Services on one address and port: which one wins is up to each mode's rule layout.
  const claims = new Map<string, Set<string>>();
  for (const p of probes) {
    const k = `${p.packet.dst}\0${p.packet.dport}\0${p.packet.protocol}`;
    claims.set(k, (claims.get(k) ?? new Set()).add(`${p.service}\0${p.protocol}`));
  }
  for (const p of probes) if (claims.get(`${p.packet.dst}\0${p.packet.dport}\0${p.packet.protocol}`)!.size > 1) p.shared = true;
  return { probes, notes };
}
