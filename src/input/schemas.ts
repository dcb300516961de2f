// zod schemas for the kinds ktables reads. They validate exactly the fields kube-proxy uses
// (and everything that could reach a rule's text); all other fields pass through untouched.
import type { z as Zod } from 'zod';
import { valueRules } from './rules.js';

/**
 * The schemas, built over Z. The compile path checks valid objects with src/input/fast-check.ts
 * and builds these (and loads zod) only to word what is wrong with an object.
 */
export function kindSchemas(z: typeof Zod) {
  const {
    cidr,
    dns1035Label,
    dns1123Label,
    dns1123Subdomain,
    ipAddress,
    labelValue,
    optionalPort,
    portName,
    portNumber,
    protocol,
    sourceRange,
    targetPort,
  } = valueRules(z);
  const bool = z.boolean({ message: 'must be true or false' });

  const objectMeta = (name: Zod.ZodType<string>, namespaced: boolean) =>
    z.object({
      name,
      namespace: namespaced ? dns1123Label.optional() : z.unknown().optional(),
      labels: z.record(z.string(), z.string()).optional().nullable(),
      annotations: z.record(z.string(), z.string()).optional().nullable(),
    });

  const servicePortSchema = z.object({
    name: portName.optional().nullable(),
    protocol: protocol.optional().nullable(),
    port: portNumber,
    targetPort: targetPort.optional().nullable(),
    nodePort: optionalPort.optional().nullable(),
    appProtocol: z.string().optional().nullable(),
  });

  const serviceSchema = z.object({
    apiVersion: z.literal('v1', { message: 'must be v1' }),
    kind: z.literal('Service'),
    metadata: objectMeta(dns1035Label, true),
    spec: z.object({
      type: z
        .enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'], {
          message: 'must be one of ClusterIP, NodePort, LoadBalancer, ExternalName',
        })
        .optional()
        .nullable(),
      clusterIP: z
        .union([z.literal(''), z.literal('None'), ipAddress])
        .optional()
        .nullable(),
      clusterIPs: z
        .array(z.union([z.literal('None'), ipAddress]))
        .max(2)
        .optional()
        .nullable(),
      ipFamilies: z
        .array(z.enum(['IPv4', 'IPv6'], { message: 'must be IPv4 or IPv6' }))
        .max(2)
        .optional()
        .nullable(),
      ipFamilyPolicy: z.enum(['SingleStack', 'PreferDualStack', 'RequireDualStack']).optional().nullable(),
      ports: z.array(servicePortSchema).optional().nullable(),
      externalIPs: z.array(ipAddress).optional().nullable(),
      loadBalancerIP: z
        .union([z.literal(''), ipAddress])
        .optional()
        .nullable(),
      loadBalancerSourceRanges: z.array(sourceRange).optional().nullable(),
      externalTrafficPolicy: z.enum(['Cluster', 'Local'], { message: 'must be Cluster or Local' }).optional().nullable(),
      internalTrafficPolicy: z.enum(['Cluster', 'Local'], { message: 'must be Cluster or Local' }).optional().nullable(),
      healthCheckNodePort: optionalPort.optional().nullable(),
      sessionAffinity: z.enum(['None', 'ClientIP'], { message: 'must be None or ClientIP' }).optional().nullable(),
      sessionAffinityConfig: z
        .object({
          clientIP: z
            .object({
              timeoutSeconds: z
                .number()
                .int()
                .min(1, { message: 'must be between 1 and 86400 seconds' })
                .max(86400, { message: 'must be between 1 and 86400 seconds' })
                .optional()
                .nullable(),
            })
            .optional()
            .nullable(),
        })
        .optional()
        .nullable(),
      trafficDistribution: z.string().optional().nullable(),
      externalName: z.string().optional().nullable(),
      allocateLoadBalancerNodePorts: bool.optional().nullable(),
    }),
    status: z
      .object({
        loadBalancer: z
          .object({
            ingress: z
              .array(
                z.object({
                  ip: z
                    .union([z.literal(''), ipAddress])
                    .optional()
                    .nullable(),
                  hostname: z
                    .union([z.literal(''), dns1123Subdomain])
                    .optional()
                    .nullable(),
                  ipMode: z.enum(['VIP', 'Proxy'], { message: 'must be VIP or Proxy' }).optional().nullable(),
                }),
              )
              .optional()
              .nullable(),
          })
          .optional()
          .nullable(),
      })
      .optional()
      .nullable(),
  });

  const endpointConditions = z
    .object({ ready: bool.optional().nullable(), serving: bool.optional().nullable(), terminating: bool.optional().nullable() })
    .optional()
    .nullable();

  const endpointSliceSchema = z.object({
    apiVersion: z.literal('discovery.k8s.io/v1', { message: 'must be discovery.k8s.io/v1' }),
    kind: z.literal('EndpointSlice'),
    metadata: objectMeta(dns1123Subdomain, true),
    addressType: z.enum(['IPv4', 'IPv6', 'FQDN'], { message: 'must be IPv4, IPv6 or FQDN' }),
    endpoints: z
      .array(
        z.object({
          addresses: z.array(z.string()).min(1, { message: 'must list at least one address' }).max(100),
          conditions: endpointConditions,
          nodeName: dns1123Subdomain.optional().nullable(),
          zone: labelValue.optional().nullable(),
          hostname: dns1123Label.optional().nullable(),
          hints: z
            .object({
              forZones: z
                .array(z.object({ name: labelValue }))
                .optional()
                .nullable(),
              forNodes: z
                .array(z.object({ name: dns1123Subdomain }))
                .optional()
                .nullable(),
            })
            .optional()
            .nullable(),
        }),
      )
      .optional()
      .nullable(),
    ports: z
      .array(
        z.object({
          name: portName.optional().nullable(),
          protocol: protocol.optional().nullable(),
          port: portNumber.optional().nullable(),
          appProtocol: z.string().optional().nullable(),
        }),
      )
      .optional()
      .nullable(),
  });

  const endpointAddress = z.object({
    ip: ipAddress,
    nodeName: dns1123Subdomain.optional().nullable(),
    hostname: z.string().optional().nullable(),
  });

  const endpointsSchema = z.object({
    apiVersion: z.literal('v1', { message: 'must be v1' }),
    kind: z.literal('Endpoints'),
    metadata: objectMeta(dns1035Label, true),
    subsets: z
      .array(
        z.object({
          addresses: z.array(endpointAddress).optional().nullable(),
          notReadyAddresses: z.array(endpointAddress).optional().nullable(),
          ports: z
            .array(z.object({ name: portName.optional().nullable(), port: portNumber, protocol: protocol.optional().nullable() }))
            .optional()
            .nullable(),
        }),
      )
      .optional()
      .nullable(),
  });

  const nodeSchema = z.object({
    apiVersion: z.literal('v1', { message: 'must be v1' }),
    kind: z.literal('Node'),
    metadata: objectMeta(dns1123Subdomain, false),
    spec: z
      .object({ podCIDR: cidr.optional().nullable(), podCIDRs: z.array(cidr).optional().nullable() })
      .optional()
      .nullable(),
    status: z
      .object({
        addresses: z
          .array(z.object({ type: z.string(), address: z.string() }))
          .optional()
          .nullable(),
        // kube-proxy ships with the kubelet: its version is the default --kube-proxy-version.
        nodeInfo: z.object({ kubeletVersion: z.string().optional().nullable() }).optional().nullable(),
      })
      .optional()
      .nullable(),
  });
  return { serviceSchema, endpointSliceSchema, endpointsSchema, nodeSchema };
}

type Schemas = ReturnType<typeof kindSchemas>;
export type ServiceObject = Zod.infer<Schemas['serviceSchema']>;
export type EndpointSliceObject = Zod.infer<Schemas['endpointSliceSchema']>;
export type EndpointsObject = Zod.infer<Schemas['endpointsSchema']>;
export type NodeObject = Zod.infer<Schemas['nodeSchema']>;
