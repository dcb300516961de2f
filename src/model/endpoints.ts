// EndpointSlices (and legacy Endpoints) → endpoints per service port, as kube-proxy's
// EndpointSlice cache computes them.
import type { EndpointSliceObject, EndpointsObject } from '../input/schemas.js';
import { SERVICE_NAME_LABEL } from '../input/load.js';
import { canonicalIP, joinHostPort, type IPFamily } from '../util/ip.js';
import { namespaceOf } from './services.js';
import type { Endpoint, Protocol } from './types.js';

/** Key of a service port as endpoints refer to it: namespace, service, port name, protocol. */
export function servicePortKey(namespace: string, service: string, portName: string, protocol: Protocol): string {
  return `${namespace}/${service}\u0000${portName}\u0000${protocol}`;
}

export interface EndpointOptions {
  family: IPFamily;
  nodeName: string;
  /** The PreferSameTrafficDistribution feature gate: node hints are read only when it is on. */
  nodeHints: boolean;
}

/**
 * Groups endpoints by service port key. Slices of the other family (and FQDN slices) are
 * ignored, only the first address of an endpoint counts, and duplicates prefer a
 * non-terminating copy. Each list comes back sorted by endpoint string, byte-wise.
 */
export function endpointsByServicePort(
  slices: EndpointSliceObject[],
  opts: EndpointOptions,
  notes: string[] = [],
): Map<string, Endpoint[]> {
  const wantType = opts.family === 'ipv4' ? 'IPv4' : 'IPv6';
  const sets = new Map<string, Map<string, Endpoint>>();
  // Slice order must not change the result: walk them by name.
  const ordered = [...slices].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const slice of ordered) {
    const id = `${namespaceOf(slice.metadata)}/${slice.metadata.name}`;
    if (slice.addressType !== wantType) {
      notes.push(`ignored EndpointSlice ${id}: addressType ${slice.addressType} (this is the ${opts.family} proxier)`);
      continue;
    }
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!service) {
      notes.push(`ignored EndpointSlice ${id}: no ${SERVICE_NAME_LABEL} label`);
      continue;
    }
    const namespace = namespaceOf(slice.metadata);
    for (const port of slice.ports ?? []) {
      if (!port.port) continue; // kube-proxy ignores ports without a number
      const key = servicePortKey(namespace, service, port.name ?? '', (port.protocol ?? 'TCP') as Protocol);
      let set = sets.get(key);
      if (!set) sets.set(key, (set = new Map()));
      for (const ep of slice.endpoints ?? []) {
        const first = ep.addresses[0];
        if (first === undefined) continue;
        const ip = canonicalIP(first)!;
        const terminating = ep.conditions?.terminating === true;
        const endpoint: Endpoint = {
          ip,
          port: port.port,
          address: joinHostPort(ip, port.port),
          ready: ep.conditions?.ready !== false,
          serving: ep.conditions?.serving !== false,
          terminating,
          isLocal: opts.nodeName !== '' && ep.nodeName === opts.nodeName,
          zoneHints: ep.hints?.forZones?.length ? ep.hints.forZones.map((z) => z.name) : undefined,
          nodeHints: opts.nodeHints && ep.hints?.forNodes?.length ? ep.hints.forNodes.map((n) => n.name) : undefined,
        };
        if (!set.has(endpoint.address) || !terminating) set.set(endpoint.address, endpoint);
      }
    }
  }
  const out = new Map<string, Endpoint[]>();
  for (const [key, set] of sets) {
    const list = [...set.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    if (list.length > 0) out.set(key, list);
  }
  return out;
}

const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';

/**
 * Legacy v1 Endpoints → the EndpointSlices the mirroring controller would create: ready
 * addresses get ready=true, notReadyAddresses ready=false, one slice per subset and family.
 */
export function mirrorEndpoints(ep: EndpointsObject): EndpointSliceObject[] {
  if (ep.metadata.labels?.[SKIP_MIRROR_LABEL] === 'true') return [];
  const out: EndpointSliceObject[] = [];
  (ep.subsets ?? []).forEach((subset, i) => {
    for (const addressType of ['IPv4', 'IPv6'] as const) {
      const endpoints: NonNullable<EndpointSliceObject['endpoints']> = [];
      const add = (list: typeof subset.addresses, ready: boolean) => {
        for (const a of list ?? []) {
          const ip = canonicalIP(a.ip);
          if (!ip || (ip.includes(':') ? 'IPv6' : 'IPv4') !== addressType) continue;
          endpoints.push({ addresses: [ip], conditions: { ready }, nodeName: a.nodeName ?? undefined });
        }
      };
      add(subset.addresses, true);
      add(subset.notReadyAddresses, false);
      if (endpoints.length === 0) continue;
      out.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${ep.metadata.name}-mirrored-${i}-${addressType.toLowerCase()}`,
          namespace: ep.metadata.namespace,
          labels: { [SERVICE_NAME_LABEL]: ep.metadata.name },
        },
        addressType,
        endpoints,
        ports: (subset.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
      });
    }
  });
  return out;
}
