// --config FILE: a KubeProxyConfiguration. Only the fields that change the rules are read;
// flags given on the command line win over it, as with kube-proxy.
import yaml from 'js-yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { cidr, dns1123Subdomain, interfaceName } from '../input/rules.js';
import type { ProxyOptions } from '../model/options.js';
import type { Host } from '../host.js';

const configSchema = z.object({
  apiVersion: z.literal('kubeproxy.config.k8s.io/v1alpha1', { message: 'must be kubeproxy.config.k8s.io/v1alpha1' }),
  kind: z.literal('KubeProxyConfiguration', { message: 'must be KubeProxyConfiguration' }),
  mode: z.enum(['iptables', 'nftables', 'ipvs', '']).optional().nullable(),
  hostnameOverride: z.union([z.literal(''), dns1123Subdomain]).optional().nullable(),
  clusterCIDR: z.string().optional().nullable(),
  detectLocalMode: z.enum(['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix', '']).optional().nullable(),
  detectLocal: z
    .object({ bridgeInterface: interfaceName.optional().nullable(), interfaceNamePrefix: interfaceName.optional().nullable() })
    .optional()
    .nullable(),
  nodePortAddresses: z.array(z.union([z.literal('primary'), cidr])).optional().nullable(),
  iptables: z
    .object({
      masqueradeAll: z.boolean().optional().nullable(),
      masqueradeBit: z.number().int().min(0).max(31).optional().nullable(),
      localhostNodePorts: z.boolean().optional().nullable(),
    })
    .optional()
    .nullable(),
  nftables: z
    .object({ masqueradeAll: z.boolean().optional().nullable(), masqueradeBit: z.number().int().min(0).max(31).optional().nullable() })
    .optional()
    .nullable(),
  linux: z.object({ masqueradeAll: z.boolean().optional().nullable() }).optional().nullable(),
  featureGates: z.record(z.string(), z.boolean()).optional().nullable(),
});

export function readProxyConfig(host: Host, file: string): Partial<ProxyOptions> {
  let raw: unknown;
  try {
    raw = yaml.load(host.fs.readFileSync(file, 'utf8'), { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw new InputError([{ file, message: `cannot read KubeProxyConfiguration: ${(e as Error).message}` }]);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InputError(
      parsed.error.issues.map((i) => ({ file, object: 'KubeProxyConfiguration', field: i.path.join('.'), message: i.message })),
    );
  }
  const c = parsed.data;
  const out: Partial<ProxyOptions> = {};
  if (c.mode === 'iptables' || c.mode === 'nftables') out.proxyMode = c.mode;
  if (c.hostnameOverride) out.hostnameOverride = c.hostnameOverride;
  if (c.clusterCIDR) out.clusterCIDRs = c.clusterCIDR.split(',').map((s) => s.trim()).filter(Boolean);
  if (c.detectLocalMode) out.detectLocalMode = c.detectLocalMode;
  if (c.detectLocal?.bridgeInterface) out.podBridgeInterface = c.detectLocal.bridgeInterface;
  if (c.detectLocal?.interfaceNamePrefix) out.podInterfaceNamePrefix = c.detectLocal.interfaceNamePrefix;
  if (c.nodePortAddresses && c.nodePortAddresses.length > 0) out.nodePortAddresses = c.nodePortAddresses;
  const masqAll = c.linux?.masqueradeAll ?? c.iptables?.masqueradeAll ?? c.nftables?.masqueradeAll;
  if (masqAll != null) out.masqueradeAll = masqAll;
  const bit = c.iptables?.masqueradeBit ?? c.nftables?.masqueradeBit;
  if (bit != null) out.masqueradeBit = bit;
  if (c.iptables?.localhostNodePorts != null) out.localhostNodePorts = c.iptables.localhostNodePorts;
  const gate = c.featureGates?.['PreferSameTrafficDistribution'];
  if (gate !== undefined) out.preferSameTrafficDistribution = gate;
  return out;
}
