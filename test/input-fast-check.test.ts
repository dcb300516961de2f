// The hand-written fast checks (src/input/fast-check.ts) against the zod schemas they stand in
// for: on generated objects, valid and invalid (hostile values, wrong types, missing and extra
// keys), both accept the same objects and return the same value, key order included.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastParse } from '../src/input/fast-check.js';
import { z } from 'zod';
import { kindSchemas } from '../src/input/schemas.js';

const { endpointSliceSchema, endpointsSchema, nodeSchema, serviceSchema } = kindSchemas(z);

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);

const hostile = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    1.5,
    2 ** 53,
    65536,
    -1,
    true,
    'None',
    '',
    ' ',
    'a\nb',
    '__proto__',
    [],
    {},
  ),
  fc.anything({ maxDepth: 2 }),
);
/** Mostly one of the GOOD values; now and then one of the BAD ones or anything at all. */
const field = (good: unknown[], bad: unknown[] = []) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...good), weight: 40 },
    { arbitrary: bad.length > 0 ? fc.constantFrom(...bad) : hostile, weight: 1 },
    { arbitrary: hostile, weight: 1 },
  );
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ arbitrary: a, weight: 40 }, { arbitrary: hostile, weight: 1 });
const list = <T>(a: fc.Arbitrary<T>, max = 3) => maybe(fc.array(a, { maxLength: max }));
/** An object whose keys may each be missing, plus sometimes an unknown key or a __proto__ key. */
const object = (shape: Record<string, fc.Arbitrary<unknown>>, requiredKeys: string[] = []) =>
  maybe(
    fc
      .tuple(fc.record(shape, { requiredKeys }), fc.constantFrom(undefined, 'extra', '__proto__', 'constructor'), fc.boolean())
      .map(([o, extra, reverse]) => {
        const entries: [string, unknown][] = Object.entries(o);
        if (reverse) entries.reverse();
        if (extra !== undefined) entries.push([extra, 'x']);
        // JSON.parse makes __proto__ an own key, as the YAML and JSON readers do.
        return JSON.parse(JSON.stringify(Object.fromEntries(entries.map(([k, v]) => [k, v === undefined ? '__undef__' : v]))), (_k, v) =>
          v === '__undef__' ? undefined : v,
        ) as unknown;
      }),
  );

const ips = ['10.0.0.1', 'fd00::1', '::ffff:1.2.3.4'];
const badIps = ['10.0.0.300', '1.2.3', ' 10.0.0.1', 'None', ''];
const cidrs = ['10.0.0.0/8', 'fd00::/64', ' 10.0.0.0/8 '];
const badCidrs = ['10.0.0.0/33', '10.0.0.0', 'x'];
const names = ['a', 'web', 'web-1', 'a'.repeat(63)];
const badNames = ['1web', 'Web', 'a.b', '-a', 'a'.repeat(64), 'x'.repeat(254), 'a b'];
const subdomains = [...names, 'a.b', '1web', 'x.'.repeat(126) + 'x'];
const ports = [1, 80, 65535];
const badPorts = [0, 65536, -1, 1.5, '80', -0];
const targetPorts = [...ports, 'http', 'a-b'];
const badTargetPorts = [...badPorts, 'a--b', 'toolongportname1', '1', 'HTTP'];
const labels = maybe(
  fc.dictionary(fc.constantFrom('app', 'kubernetes.io/service-name', '__proto__', 'constructor', '1'), field(names, [5, null])),
);
const meta = object({ name: field(names, badNames), namespace: field(names, badNames), labels, annotations: labels }, ['name']);

const service = object(
  {
    apiVersion: field(['v1'], ['v2']),
    kind: field(['Service']),
    metadata: meta,
    spec: object({
      type: field(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'], ['clusterip']),
      clusterIP: field(['', 'None', ...ips], badIps.slice(0, 3)),
      clusterIPs: list(field(['None', ...ips], badIps)),
      ipFamilies: list(field(['IPv4', 'IPv6'], ['ipv4'])),
      ipFamilyPolicy: field(['SingleStack', 'PreferDualStack', 'RequireDualStack'], ['x']),
      ports: list(
        object(
          {
            name: field(['', ...names], badNames),
            protocol: field(['TCP', 'UDP', 'SCTP'], ['tcp']),
            port: field(ports, badPorts),
            targetPort: field(targetPorts, badTargetPorts),
            nodePort: field([0, ...ports], badPorts.slice(1)),
            appProtocol: field(['http'], [5]),
          },
          ['port'],
        ),
      ),
      externalIPs: list(field(ips, badIps)),
      loadBalancerIP: field(['', ...ips], badIps),
      loadBalancerSourceRanges: list(field(cidrs, badCidrs)),
      externalTrafficPolicy: field(['Cluster', 'Local'], ['local']),
      internalTrafficPolicy: field(['Cluster', 'Local']),
      healthCheckNodePort: field([0, ...ports], badPorts.slice(1)),
      sessionAffinity: field(['None', 'ClientIP']),
      sessionAffinityConfig: object({ clientIP: object({ timeoutSeconds: field([1, 86400], [0, 86401, 10.5]) }) }),
      trafficDistribution: field(['PreferClose']),
      externalName: field(['example.com']),
      allocateLoadBalancerNodePorts: field([true, false], ['true']),
    }),
    status: object({
      loadBalancer: object({
        ingress: list(
          object({
            ip: field(['', ...ips], badIps.slice(0, 3)),
            hostname: field(['', ...names], badNames),
            ipMode: field(['VIP', 'Proxy'], ['vip']),
          }),
        ),
      }),
    }),
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

const slice = object(
  {
    apiVersion: field(['discovery.k8s.io/v1']),
    kind: field(['EndpointSlice']),
    metadata: meta,
    addressType: field(['IPv4', 'IPv6', 'FQDN'], ['ipv4']),
    endpoints: list(
      object(
        {
          addresses: list(field(ips, [5]), 101),
          conditions: object({ ready: field([true, false]), serving: field([true, false]), terminating: field([true, false]) }),
          nodeName: field(subdomains, badNames.slice(1)),
          zone: field([...names, 'Zone_A'], ['_a', 'a b']),
          hostname: field(names, badNames),
          hints: object({
            forZones: list(object({ name: field(names, ['_a']) }, ['name'])),
            forNodes: list(object({ name: field(subdomains, badNames.slice(1)) }, ['name'])),
          }),
        },
        ['addresses'],
      ),
    ),
    ports: list(
      object({
        name: field(['', ...names], badNames),
        protocol: field(['TCP', 'UDP']),
        port: field(ports, badPorts),
        appProtocol: field(['h2c']),
      }),
    ),
  },
  ['apiVersion', 'kind', 'metadata', 'addressType'],
);

const address = object({ ip: field(ips, badIps), nodeName: field(subdomains, badNames.slice(1)), hostname: field(['h'], [1]) }, ['ip']);
const endpoints = object(
  {
    apiVersion: field(['v1']),
    kind: field(['Endpoints']),
    metadata: meta,
    subsets: list(
      object({
        addresses: list(address),
        notReadyAddresses: list(address),
        ports: list(
          object({ name: field(['', ...names], badNames), port: field(ports, badPorts), protocol: field(['TCP'], ['sctp']) }, ['port']),
        ),
      }),
    ),
  },
  ['apiVersion', 'kind', 'metadata'],
);

const node = object(
  {
    apiVersion: field(['v1']),
    kind: field(['Node']),
    metadata: meta,
    spec: object({ podCIDR: field(cidrs.slice(0, 2), badCidrs), podCIDRs: list(field(cidrs.slice(0, 2), badCidrs)) }),
    status: object({
      addresses: list(object({ type: field(['InternalIP']), address: field(ips, [1]) }, ['type', 'address'])),
      nodeInfo: object({ kubeletVersion: field(['v1.31.0'], [1]) }),
    }),
  },
  ['apiVersion', 'kind', 'metadata'],
);

/** Keys in order, all the way down: toStrictEqual does not look at the order. */
function keyOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keyOrder);
  if (typeof v === 'object' && v !== null) return Object.entries(v).map(([k, x]) => [k, keyOrder(x)]);
  return v;
}

const CASES = [
  ['Service', serviceSchema, service],
  ['EndpointSlice', endpointSliceSchema, slice],
  ['Endpoints', endpointsSchema, endpoints],
  ['Node', nodeSchema, node],
] as const;

describe('fast checks agree with the zod schemas', () => {
  for (const [kind, schema, arb] of CASES) {
    it(kind, () => {
      fc.assert(
        fc.property(arb, (value) => {
          const zod = schema.safeParse(value);
          const fast = fastParse(kind, value);
          expect(fast !== undefined).toBe(zod.success);
          if (zod.success) {
            expect(fast).toStrictEqual(zod.data);
            expect(keyOrder(fast)).toStrictEqual(keyOrder(zod.data));
          }
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('generates valid objects often enough to test the accepted value', () => {
    for (const [kind, , arb] of CASES) {
      const accepted = fc.sample(arb, 400).filter((v) => fastParse(kind, v) !== undefined).length;
      expect(accepted, kind).toBeGreaterThan(20);
    }
  });
});
