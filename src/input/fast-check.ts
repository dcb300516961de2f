// The schemas of schemas.ts again, as plain functions: the fast path for valid input. zod
// builds a payload and an issue list per field, which on a 10,000-Service cluster costs more
// than reading the YAML's numbers; these checks only say "valid, here is the value" or give up.
// On any doubt they give up (throw Unsure) and zod runs instead, so error messages stay zod's.
// The value they return is the one zod returns: keys in the schema's order, unknown keys
// dropped, a key given as undefined kept, new objects and arrays, records copied.
import { parseCIDR } from '../util/ip.js';
import { ipFamily } from './ip-family.js';
import { DNS1035_LABEL, DNS1123_LABEL, DNS1123_SUBDOMAIN, IANA_SVC_NAME, LABEL_VALUE } from './patterns.js';

class Unsure extends Error {}
const UNSURE = new Unsure('not on the fast path');

type Check = (v: unknown) => unknown;

function give(): never {
  throw UNSURE;
}

// zod's object and record input tests (util.isObject, util.isPlainObject).
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (!isObject(v)) return false;
  const ctor = (v as { constructor?: unknown }).constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const proto = (ctor as { prototype?: unknown }).prototype;
  return isObject(proto) && Object.prototype.hasOwnProperty.call(proto, 'isPrototypeOf');
}

const str =
  (max: number, re: RegExp): Check =>
  (v) =>
    typeof v === 'string' && v.length <= max && re.test(v) ? v : give();
const anyString: Check = (v) => (typeof v === 'string' ? v : give());
const bool: Check = (v) => (typeof v === 'boolean' ? v : give());
const oneOf = (...values: unknown[]): Check => {
  const set = new Set(values);
  return (v) => (set.has(v) ? v : give());
};
const intIn =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : give();
const ip: Check = (v) => (typeof v === 'string' && ipFamily(v) !== undefined ? v : give());
const cidr: Check = (v) => (typeof v === 'string' && parseCIDR(v) !== undefined ? v : give());
const sourceRange: Check = (v) => (typeof v === 'string' && parseCIDR(v.trim()) !== undefined ? v : give());
// One of VALUES, or else what C accepts (zod's union of a literal and a check), without the
// exception a failed first branch would cost on every address.
const orOneOf = (values: unknown[], c: Check): Check => {
  const set = new Set(values);
  return (v) => (set.has(v) ? v : c(v));
};

const dns1123Label = str(63, DNS1123_LABEL);
const dns1035Label = str(63, DNS1035_LABEL);
const dns1123Subdomain = str(253, DNS1123_SUBDOMAIN);
const labelValue = str(63, LABEL_VALUE);
const portNumber = intIn(1, 65535);
const optionalPort = intIn(0, 65535);
const protocol = oneOf('TCP', 'UDP', 'SCTP');
const portName: Check = (v) => (v === '' ? v : dns1123Label(v));
const targetPort: Check = (v) => (typeof v === 'number' ? portNumber(v) : str(15, IANA_SVC_NAME)(v));
const emptyOr =
  (c: Check): Check =>
  (v) =>
    v === '' ? v : c(v);

/** .optional().nullable() and .optional(): the value itself when null (nullable) or undefined. */
const opt =
  (c: Check): Check =>
  (v) =>
    v === undefined || v === null ? v : c(v);
const optOnly =
  (c: Check): Check =>
  (v) =>
    v === undefined ? v : c(v);

/** z.object: FIELDS in the schema's order; an optional key absent from the input stays absent. */
function obj(fields: Record<string, Check>, optional: readonly string[] = []): Check {
  const keys = Object.keys(fields);
  const checks = keys.map((k) => fields[k]!);
  const isOptional = keys.map((k) => optional.includes(k));
  return (v) => {
    if (!isObject(v)) give();
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (!(key in v)) {
        if (isOptional[i]) continue;
        give();
      }
      out[key] = checks[i]!(v[key]);
    }
    return out;
  };
}

function arr(c: Check, min = 0, max = Infinity): Check {
  return (v) => {
    if (!Array.isArray(v) || v.length < min || v.length > max) give();
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = c(v[i]);
    return out;
  };
}

/** z.record(z.string(), z.string()): own enumerable string keys, __proto__ dropped as zod does. */
const stringRecord: Check = (v) => {
  if (!isPlainObject(v)) give();
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    if (key === '__proto__') continue;
    const value = v[key];
    if (typeof value !== 'string') give();
    out[key] = value;
  }
  return out;
};

/** Fields that are `.optional()` or `.optional().nullable()`: every one but the ones listed. */
function optionalObj(fields: Record<string, Check>, required: readonly string[] = []): Check {
  return obj(
    fields,
    Object.keys(fields).filter((k) => !required.includes(k)),
  );
}

const objectMeta = (name: Check, namespaced: boolean): Check =>
  optionalObj(
    {
      name,
      namespace: namespaced ? optOnly(dns1123Label) : (v) => v,
      labels: opt(stringRecord),
      annotations: opt(stringRecord),
    },
    ['name'],
  );

const servicePort = optionalObj(
  {
    name: opt(portName),
    protocol: opt(protocol),
    port: portNumber,
    targetPort: opt(targetPort),
    nodePort: opt(optionalPort),
    appProtocol: opt(anyString),
  },
  ['port'],
);

const trafficPolicy = opt(oneOf('Cluster', 'Local'));

const service = optionalObj(
  {
    apiVersion: oneOf('v1'),
    kind: oneOf('Service'),
    metadata: objectMeta(dns1035Label, true),
    spec: optionalObj({
      type: opt(oneOf('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName')),
      clusterIP: opt(orOneOf(['', 'None'], ip)),
      clusterIPs: opt(arr(orOneOf(['None'], ip), 0, 2)),
      ipFamilies: opt(arr(oneOf('IPv4', 'IPv6'), 0, 2)),
      ipFamilyPolicy: opt(oneOf('SingleStack', 'PreferDualStack', 'RequireDualStack')),
      ports: opt(arr(servicePort)),
      externalIPs: opt(arr(ip)),
      loadBalancerIP: opt(emptyOr(ip)),
      loadBalancerSourceRanges: opt(arr(sourceRange)),
      externalTrafficPolicy: trafficPolicy,
      internalTrafficPolicy: trafficPolicy,
      healthCheckNodePort: opt(optionalPort),
      sessionAffinity: opt(oneOf('None', 'ClientIP')),
      sessionAffinityConfig: opt(optionalObj({ clientIP: opt(optionalObj({ timeoutSeconds: opt(intIn(1, 86400)) })) })),
      trafficDistribution: opt(anyString),
      externalName: opt(anyString),
      allocateLoadBalancerNodePorts: opt(bool),
    }),
    status: opt(
      optionalObj({
        loadBalancer: opt(
          optionalObj({
            ingress: opt(
              arr(
                optionalObj({
                  ip: opt(emptyOr(ip)),
                  hostname: opt(emptyOr(dns1123Subdomain)),
                  ipMode: opt(oneOf('VIP', 'Proxy')),
                }),
              ),
            ),
          }),
        ),
      }),
    ),
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

const endpointSlice = optionalObj(
  {
    apiVersion: oneOf('discovery.k8s.io/v1'),
    kind: oneOf('EndpointSlice'),
    metadata: objectMeta(dns1123Subdomain, true),
    addressType: oneOf('IPv4', 'IPv6', 'FQDN'),
    endpoints: opt(
      arr(
        optionalObj(
          {
            addresses: arr(anyString, 1, 100),
            conditions: opt(optionalObj({ ready: opt(bool), serving: opt(bool), terminating: opt(bool) })),
            nodeName: opt(dns1123Subdomain),
            zone: opt(labelValue),
            hostname: opt(dns1123Label),
            hints: opt(
              optionalObj({
                forZones: opt(arr(obj({ name: labelValue }))),
                forNodes: opt(arr(obj({ name: dns1123Subdomain }))),
              }),
            ),
          },
          ['addresses'],
        ),
      ),
    ),
    ports: opt(
      arr(
        optionalObj({
          name: opt(portName),
          protocol: opt(protocol),
          port: opt(portNumber),
          appProtocol: opt(anyString),
        }),
      ),
    ),
  },
  ['apiVersion', 'kind', 'metadata', 'addressType'],
);

const endpointAddress = optionalObj({ ip, nodeName: opt(dns1123Subdomain), hostname: opt(anyString) }, ['ip']);

const endpoints = optionalObj(
  {
    apiVersion: oneOf('v1'),
    kind: oneOf('Endpoints'),
    metadata: objectMeta(dns1035Label, true),
    subsets: opt(
      arr(
        optionalObj({
          addresses: opt(arr(endpointAddress)),
          notReadyAddresses: opt(arr(endpointAddress)),
          ports: opt(arr(optionalObj({ name: opt(portName), port: portNumber, protocol: opt(protocol) }, ['port']))),
        }),
      ),
    ),
  },
  ['apiVersion', 'kind', 'metadata'],
);

const node = optionalObj(
  {
    apiVersion: oneOf('v1'),
    kind: oneOf('Node'),
    metadata: objectMeta(dns1123Subdomain, false),
    spec: opt(optionalObj({ podCIDR: opt(cidr), podCIDRs: opt(arr(cidr)) })),
    status: opt(
      optionalObj({
        addresses: opt(arr(obj({ type: anyString, address: anyString }))),
        nodeInfo: opt(optionalObj({ kubeletVersion: opt(anyString) })),
      }),
    ),
  },
  ['apiVersion', 'kind', 'metadata'],
);

const CHECKS: Record<string, Check> = { Service: service, EndpointSlice: endpointSlice, Endpoints: endpoints, Node: node };

/**
 * VALUE as the kind's zod schema would return it, or undefined when the fast checks are not
 * sure (invalid input, or anything unusual): then the caller runs zod.
 */
export function fastParse(kind: string, value: unknown): unknown {
  const check = Object.hasOwn(CHECKS, kind) ? CHECKS[kind] : undefined;
  if (!check) return undefined;
  try {
    return check(value);
  } catch (e) {
    if (e === UNSURE) return undefined;
    throw e;
  }
}
