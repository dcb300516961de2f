// kube-proxy's CategorizeEndpoints: which endpoints each traffic policy may use on this node,
// with topology hints and the fallback to serving-terminating endpoints.
import type { Endpoint, EndpointSelection, ServicePort } from './types.js';

export function externallyAccessible(sp: ServicePort): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
}

/** Cluster endpoints are needed unless every path to the service is Local-only. */
export function usesClusterEndpoints(sp: ServicePort): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

export function usesLocalEndpoints(sp: ServicePort): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}

type TopologyMode = '' | 'PreferSameNode' | 'PreferSameZone';

function topologyMode(endpoints: Endpoint[], nodeName: string, zone: string, nodeHintsEnabled: boolean): TopologyMode {
  let forNode = false;
  let allNodeHints = true;
  let forZone = false;
  let allZoneHints = true;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (!ep.nodeHints || ep.nodeHints.length === 0) allNodeHints = false;
    else if (ep.nodeHints.includes(nodeName)) forNode = true;
    if (!ep.zoneHints || ep.zoneHints.length === 0) allZoneHints = false;
    else if (ep.zoneHints.includes(zone)) forZone = true;
  }
  if (nodeHintsEnabled && allNodeHints && forNode) return 'PreferSameNode';
  if (allZoneHints && forZone) return 'PreferSameZone';
  return '';
}

function availableFor(ep: Endpoint, mode: TopologyMode, nodeName: string, zone: string): boolean {
  if (mode === 'PreferSameNode') return ep.nodeHints?.includes(nodeName) ?? false;
  if (mode === 'PreferSameZone') return ep.zoneHints?.includes(zone) ?? false;
  return true;
}

export interface TopologyContext {
  nodeName: string;
  zone: string | undefined;
  /** PreferSameTrafficDistribution feature gate. */
  nodeHints: boolean;
}

/** The endpoints that pass TEST: the list itself when all do (the usual case: nothing to copy). */
function keep(endpoints: Endpoint[], test: (ep: Endpoint) => boolean): Endpoint[] {
  const first = endpoints.findIndex((ep) => !test(ep));
  if (first < 0) return endpoints;
  const out = endpoints.slice(0, first);
  for (let i = first + 1; i < endpoints.length; i++) if (test(endpoints[i]!)) out.push(endpoints[i]!);
  return out;
}

export function categorizeEndpoints(sp: ServicePort, ctx: TopologyContext): EndpointSelection {
  const endpoints = sp.endpoints;
  const zone = ctx.zone ?? '';
  let cluster: Endpoint[] = [];
  let local: Endpoint[] = [];
  let hasAny = false;
  let mode: TopologyMode = '';
  let servingTerminatingLocal = false;

  const useCluster = usesClusterEndpoints(sp);
  if (useCluster) {
    mode = topologyMode(endpoints, ctx.nodeName, zone, ctx.nodeHints);
    cluster = keep(endpoints, (ep) => ep.ready && availableFor(ep, mode, ctx.nodeName, zone));
    // No ready endpoint anywhere (topology already fell back): use serving-terminating ones.
    if (cluster.length === 0) cluster = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (cluster.length > 0) hasAny = true;
  }
  if (!usesLocalEndpoints(sp)) {
    return { clusterEndpoints: cluster, localEndpoints: [], allReachable: cluster, hasAnyEndpoints: hasAny };
  }

  let localReady = false;
  let localServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAny = true;
      if (ep.isLocal) localReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAny = true;
      if (ep.isLocal) localServingTerminating = true;
    }
  }
  if (localReady) local = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (localServingTerminating) {
    servingTerminatingLocal = true;
    local = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  }

  if (!useCluster) return { clusterEndpoints: [], localEndpoints: local, allReachable: local, hasAnyEndpoints: hasAny };
  if (mode === '' && !servingTerminatingLocal) {
    return { clusterEndpoints: cluster, localEndpoints: local, allReachable: cluster, hasAnyEndpoints: hasAny };
  }
  // Union of both lists. kube-proxy builds it from a map (unordered); we pin endpoint order.
  const union = new Map<string, Endpoint>();
  for (const ep of cluster) union.set(ep.address, ep);
  for (const ep of local) union.set(ep.address, ep);
  const all = [...union.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { clusterEndpoints: cluster, localEndpoints: local, allReachable: all, hasAnyEndpoints: hasAny };
}
