// Services → service ports, as kube-proxy's service change tracker builds them.
import type { ServiceObject } from '../input/schemas.js';
import { canonicalIP, familyOf, formatCIDR, parseCIDR, type IPFamily } from '../util/ip.js';
import type { Protocol, ServicePort } from './types.js';

const DEFAULT_AFFINITY_TIMEOUT = 10800; // the API server's default for ClientIP affinity

export function namespaceOf(meta: { namespace?: unknown }): string {
  return typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
}

/** kube-proxy's ShouldSkipService: headless and ExternalName Services get no rules. */
export function skipReason(svc: ServiceObject): string | undefined {
  const ip = svc.spec.clusterIP ?? '';
  if (svc.spec.type === 'ExternalName') return 'it is an ExternalName Service';
  if (ip === '' || ip === 'None') return 'it has no cluster IP (headless)';
  return undefined;
}

/** The cluster IP of the proxier's family, as GetClusterIPByFamily picks it. */
function clusterIPFor(svc: ServiceObject, family: IPFamily): string | undefined {
  const families = svc.spec.ipFamilies ?? [];
  if (families.length === 0) {
    const ip = svc.spec.clusterIP ?? '';
    return familyOf(ip) === family ? canonicalIP(ip) : undefined;
  }
  const want = family === 'ipv4' ? 'IPv4' : 'IPv6';
  const i = families.indexOf(want);
  if (i < 0) return undefined;
  const ips = svc.spec.clusterIPs && svc.spec.clusterIPs.length > 0 ? svc.spec.clusterIPs : [svc.spec.clusterIP ?? ''];
  const ip = ips[i];
  return ip !== undefined && familyOf(ip) === family ? canonicalIP(ip) : undefined;
}

function externallyAccessibleByType(svc: ServiceObject): boolean {
  const type = svc.spec.type ?? 'ClusterIP';
  return type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && (svc.spec.externalIPs ?? []).length > 0);
}

/** The service ports one Service contributes to the given family (none if it is skipped). */
export function servicePortsOf(svc: ServiceObject, family: IPFamily): ServicePort[] {
  if (skipReason(svc)) return [];
  const clusterIP = clusterIPFor(svc, family);
  if (!clusterIP) return [];
  const namespace = namespaceOf(svc.metadata);
  const name = svc.metadata.name;
  const spec = svc.spec;

  const externalIPs = (spec.externalIPs ?? []).filter((ip) => familyOf(ip) === family).map((ip) => canonicalIP(ip)!);

  let sourceRanges = (spec.loadBalancerSourceRanges ?? [])
    .map((r) => parseCIDR(r.trim()))
    .filter((c) => c !== undefined && c.ip.family === family);
  // A zero-prefix range allows everything, which is the same as listing none.
  if (sourceRanges.some((c) => c!.prefix === 0)) sourceRanges = [];

  const vips = (svc.status?.loadBalancer?.ingress ?? [])
    .filter((ing) => ing.ip && (ing.ipMode ?? 'VIP') === 'VIP' && familyOf(ing.ip) === family)
    .map((ing) => canonicalIP(ing.ip!)!);

  const externalPolicyLocal = spec.externalTrafficPolicy === 'Local' && externallyAccessibleByType(svc);
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  const needsHealthCheck = (spec.type ?? 'ClusterIP') === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
  const affinity =
    spec.sessionAffinity === 'ClientIP'
      ? { timeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT }
      : undefined;

  return (spec.ports ?? []).map((p) => {
    const portName = p.name ?? '';
    return {
      namespace,
      name,
      portName,
      protocol: (p.protocol ?? 'TCP') as Protocol,
      displayName: portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`,
      clusterIP,
      port: p.port,
      nodePort: p.nodePort ?? 0,
      externalIPs,
      loadBalancerVIPs: vips,
      loadBalancerSourceRanges: sourceRanges.map((c) => formatCIDR(c!)),
      sessionAffinity: affinity,
      externalPolicyLocal,
      internalPolicyLocal,
      healthCheckNodePort: needsHealthCheck ? (spec.healthCheckNodePort ?? 0) : 0,
      endpoints: [],
    };
  });
}
