import type { Inventory } from '../input/load.js';
import { endpointsByServicePort, mirrorEndpoints, servicePortKey } from './endpoints.js';
import { nodeContext } from './node.js';
import type { ProxyOptions } from './options.js';
import { namespaceOf, servicePortsOf, skipReason } from './services.js';
import type { ProxyModel, ServicePort } from './types.js';

function byDisplayNameThenProtocol(a: ServicePort, b: ServicePort): number {
  if (a.displayName !== b.displayName) return a.displayName < b.displayName ? -1 : 1;
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}

/** kube-proxy's state after one full sync, for one IP family: the input of every backend. */
export function buildModel(inv: Inventory, opts: ProxyOptions, notes: string[] = inv.notes): ProxyModel {
  const node = nodeContext(
    opts,
    inv.nodes.map((n) => n.object),
    notes,
  );

  const slices = inv.slices.map((s) => s.object);
  // Legacy Endpoints stand in for a Service only when no EndpointSlice points at it (the set of
  // sliced Services is made only when there are Endpoints to check).
  const sliced =
    inv.endpoints.length === 0
      ? new Set<string>()
      : new Set(slices.map((s) => `${namespaceOf(s.metadata)}/${s.metadata.labels?.['kubernetes.io/service-name'] ?? ''}`));
  for (const { object: ep, where } of inv.endpoints) {
    const key = `${namespaceOf(ep.metadata)}/${ep.metadata.name}`;
    if (sliced.has(key)) {
      notes.push(`ignored Endpoints ${key} (${where}): EndpointSlices exist for that Service`);
      continue;
    }
    slices.push(...mirrorEndpoints(ep));
  }

  const endpoints = endpointsByServicePort(
    slices,
    {
      family: node.family,
      nodeName: node.nodeName,
      nodeHints: opts.preferSameTrafficDistribution,
    },
    notes,
  );

  const servicePorts: ServicePort[] = [];
  for (const { object: svc, where } of inv.services) {
    const reason = skipReason(svc);
    if (reason) {
      notes.push(`skipped Service ${namespaceOf(svc.metadata)}/${svc.metadata.name} (${where}): ${reason}`);
      continue;
    }
    const ports = servicePortsOf(svc, node.family);
    if (ports.length === 0 && (svc.spec.ports ?? []).length > 0) {
      notes.push(`skipped Service ${namespaceOf(svc.metadata)}/${svc.metadata.name} (${where}): no ${node.family} cluster IP`);
    }
    for (const sp of ports) {
      sp.endpoints = endpoints.get(servicePortKey(sp.namespace, sp.name, sp.portName, sp.protocol)) ?? [];
      servicePorts.push(sp);
    }
  }
  servicePorts.sort(byDisplayNameThenProtocol);
  const totalEndpoints = servicePorts.reduce((n, sp) => n + sp.endpoints.length, 0);
  return { node, servicePorts, totalEndpoints };
}
