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
  // Every endpoint of each service port in slice order, duplicates included: sorted and
  // deduplicated below in one pass (a map per port would cost more than the rest together).
  const lists = new Map<string, Endpoint[]>();
  // Slice order must not change the result: walk them by name.
  const ordered = [...slices].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const slice of ordered) {
    if (slice.addressType !== wantType) {
      notes.push(`ignored EndpointSlice ${sliceId(slice)}: addressType ${slice.addressType} (this is the ${opts.family} proxier)`);
      continue;
    }
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!service) {
      notes.push(`ignored EndpointSlice ${sliceId(slice)}: no ${SERVICE_NAME_LABEL} label`);
      continue;
    }
    const namespace = namespaceOf(slice.metadata);
    for (const port of slice.ports ?? []) {
      if (!port.port) continue; // kube-proxy ignores ports without a number
      const key = servicePortKey(namespace, service, port.name ?? '', (port.protocol ?? 'TCP') as Protocol);
      let list = lists.get(key);
      if (!list) lists.set(key, (list = []));
      for (const ep of slice.endpoints ?? []) {
        const first = ep.addresses[0];
        if (first === undefined) continue;
        const ip = canonicalIP(first)!;
        list.push({
          ip,
          port: port.port,
          address: joinHostPort(ip, port.port),
          ready: ep.conditions?.ready !== false,
          serving: ep.conditions?.serving !== false,
          terminating: ep.conditions?.terminating === true,
          isLocal: opts.nodeName !== '' && ep.nodeName === opts.nodeName,
          zoneHints: ep.hints?.forZones?.length ? ep.hints.forZones.map((z) => z.name) : undefined,
          nodeHints: opts.nodeHints && ep.hints?.forNodes?.length ? ep.hints.forNodes.map((n) => n.name) : undefined,
        });
      }
    }
  }
  const out = new Map<string, Endpoint[]>();
  for (const [key, list] of lists) {
    const unique = uniqueByAddress(list);
    if (unique.length > 0) out.set(key, unique);
  }
  return out;
}

const sliceId = (slice: EndpointSliceObject) => `${namespaceOf(slice.metadata)}/${slice.metadata.name}`;

/**
 * LIST sorted by address with one endpoint per address: the last non-terminating copy, else the
 * first (what keeping the first and letting each non-terminating copy replace it leaves).
 */
function uniqueByAddress(list: Endpoint[]): Endpoint[] {
  // Stable: copies of one address stay in slice order.
  list.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const ep = list[i]!;
    if (n > 0 && list[n - 1]!.address === ep.address) {
      if (!ep.terminating) list[n - 1] = ep;
    } else list[n++] = ep;
  }
  list.length = n;
  return list;
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
