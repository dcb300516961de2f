// discovery.k8s.io/v1beta1 EndpointSlices (served up to Kubernetes 1.24): read as the API server
// converts them to v1. The zone moves from `topology["topology.kubernetes.io/zone"]` to `zone`;
// `nodeName` stays what the object says (v1beta1 had it since 1.20); the rest of `topology`
// becomes `deprecatedTopology`, which kube-proxy does not read. Hints have the same shape.

export const V1BETA1 = 'discovery.k8s.io/v1beta1';
const ZONE = 'topology.kubernetes.io/zone';

/** The v1 form of a v1beta1 EndpointSlice's raw object (a copy; the input is not changed). */
export function endpointSliceV1(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...value, apiVersion: 'discovery.k8s.io/v1' };
  if (Array.isArray(value['endpoints'])) {
    out['endpoints'] = value['endpoints'].map((ep: unknown) => {
      if (ep === null || typeof ep !== 'object') return ep;
      const { topology, ...rest } = ep as Record<string, unknown>;
      const e: Record<string, unknown> = rest;
      if (topology && typeof topology === 'object') {
        const zone = (topology as Record<string, unknown>)[ZONE];
        if (typeof zone === 'string' && e['zone'] === undefined) e['zone'] = zone;
      }
      return e;
    });
  }
  return out;
}
