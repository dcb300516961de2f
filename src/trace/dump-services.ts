// The Services a node's rules show, for `trace --all --rules FILE`: every entry point kube-proxy
// wrote (cluster IPs, external IPs, LoadBalancer IPs, NodePorts, health-check ports), found by
// kube-proxy's own chain names and comments, plus what the rules say about the node (the pod
// CIDR of its masquerade rules, its NodePort addresses). Nothing here compiles anything.
import type { IptablesRuleset, Rule } from '../ir/iptables.js';
import { findChain, findTable, ruleComment, targetChain } from '../ir/iptables.js';
import type { NftRuleset } from '../ir/nftables.js';
import { KUBE_PROXY_TABLE } from '../ir/nftables.js';
import type { LocalDetector, Protocol } from '../model/types.js';
import { parseCIDR, parseIP, type Family } from '../util/ip.js';
import { parseComment, type ParsedComment } from '../kubeproxy/iptables-comments.js';
import { isKubeChain, KUBE_EXTERNAL_SERVICES, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_SERVICES, roleOf } from '../kubeproxy/iptables-names.js';
import {
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  NODEPORT_IPS_SET,
  nftOwner,
  nftRoleOf,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
} from '../kubeproxy/nftables-names.js';
import type { ScenarioNode, ScenarioPort } from './scenarios.js';

export interface DumpServices {
  node: ScenarioNode;
  servicePorts: ScenarioPort[];
  notes: string[];
}

interface Port extends ScenarioPort {
  key: string;
}

class Ports {
  private readonly byKey = new Map<string, Port>();
  get(displayName: string, protocol: Protocol): Port {
    const key = `${displayName} ${protocol}`;
    let p = this.byKey.get(key);
    if (!p) {
      p = {
        key,
        displayName,
        protocol,
        clusterIP: '',
        port: 0,
        externalIPs: [],
        loadBalancerVIPs: [],
        loadBalancerSourceRanges: [],
        nodePort: 0,
        healthCheckNodePort: 0,
        endpoints: [],
      };
      this.byKey.set(key, p);
    }
    return p;
  }
  /** Sorted as kube-proxy orders service ports: by name, then protocol. */
  list(): ScenarioPort[] {
    return [...this.byKey.values()]
      .filter((p) => p.clusterIP || p.nodePort || p.externalIPs.length || p.loadBalancerVIPs.length || p.healthCheckNodePort)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

const addOnce = (list: string[], v: string) => {
  if (!list.includes(v)) list.push(v);
};

function protoOf(rule: Rule): Protocol | undefined {
  for (const m of rule.matches) {
    if (m.kind === 'protocol' && !m.negate) {
      const p = m.protocol.toUpperCase();
      if (p === 'TCP' || p === 'UDP' || p === 'SCTP') return p;
    }
  }
  return undefined;
}

function matchValue(rule: Rule, kind: 'destination' | 'dport'): string | undefined {
  for (const m of rule.matches) {
    if (m.kind === kind && !m.negate) return m.kind === 'destination' ? m.cidr.replace(/\/(32|128)$/, '') : m.port;
  }
  return undefined;
}

// The comments trace reads: what a rule is for (kubeproxy/iptables-comments.ts).
const READ = new Set<ParsedComment['kind']>([
  'clusterIP',
  'externalIP',
  'loadBalancerIP',
  'noEndpoints',
  'noLocalEndpoints',
  'healthCheckNodePort',
  'servicePort',
]);

/** kube-proxy's comment → the service port name and what the rule is for. */
function readComment(c: string): { name: string; kind: ParsedComment['kind'] } | undefined {
  const p = parseComment(c.trim());
  if (!p || !READ.has(p.kind)) return undefined;
  const name = p.service.replace(/:$/, '');
  if (!/^[a-z0-9.-]+\/[a-z0-9.-]+(:[a-z0-9-]*)?$/.test(name)) return undefined;
  return { name, kind: p.kind };
}

const port = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : 0);

export function iptablesServices(rs: IptablesRuleset, nodeIPs: string[]): DumpServices {
  const ports = new Ports();
  const notes: string[] = [];
  const nat = findTable(rs, 'nat');
  const filter = findTable(rs, 'filter');
  let podCIDR: string | undefined;
  for (const rule of findChain(nat, KUBE_SERVICES)?.rules ?? []) {
    const c = readComment(ruleComment(rule) ?? '');
    const proto = protoOf(rule);
    const dst = matchValue(rule, 'destination');
    const dport = port(matchValue(rule, 'dport'));
    if (!podCIDR && targetChain(rule) === KUBE_MARK_MASQ) podCIDR = negatedSource(rule);
    if (!c || !proto || !dst || !dport || !isKubeChain(targetChain(rule) ?? '')) continue;
    const p = ports.get(c.name, proto);
    p.port = dport;
    if (c.kind === 'clusterIP') p.clusterIP = dst;
    else if (c.kind === 'externalIP') addOnce(p.externalIPs, dst);
    else if (c.kind === 'loadBalancerIP') addOnce(p.loadBalancerVIPs, dst);
  }
  for (const rule of findChain(nat, KUBE_NODEPORTS)?.rules ?? []) {
    const c = readComment(ruleComment(rule) ?? '');
    const proto = protoOf(rule);
    const np = port(matchValue(rule, 'dport'));
    if (c && proto && np && c.kind === 'servicePort') ports.get(c.name, proto).nodePort = np;
  }
  // Services without endpoints have only filter rules (REJECT / DROP).
  for (const chainName of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES]) {
    for (const rule of findChain(filter, chainName)?.rules ?? []) {
      const c = readComment(ruleComment(rule) ?? '');
      const proto = protoOf(rule);
      const dport = port(matchValue(rule, 'dport'));
      if (!c || !proto || !dport || (c.kind !== 'noEndpoints' && c.kind !== 'noLocalEndpoints')) continue;
      const p = ports.get(c.name, proto);
      const dst = matchValue(rule, 'destination');
      const local = rule.matches.some((m) => m.kind === 'addrtype' && m.direction === 'dst' && !m.negate && m.type === 'LOCAL');
      if (local && !dst) p.nodePort ||= dport;
      else if (dst && chainName === KUBE_SERVICES) {
        p.clusterIP ||= dst;
        p.port ||= dport;
      } else if (dst) {
        addOnce(p.externalIPs, dst);
        p.port ||= dport;
      }
    }
  }
  for (const rule of findChain(filter, KUBE_NODEPORTS)?.rules ?? []) {
    const c = readComment(ruleComment(rule) ?? '');
    const hc = port(matchValue(rule, 'dport'));
    if (c && c.kind === 'healthCheckNodePort' && hc) ports.get(c.name, protoOf(rule) ?? 'TCP').healthCheckNodePort = hc;
  }
  // Endpoints (so that the pod a packet comes from is not one of them).
  for (const chain of nat?.chains ?? []) {
    if (roleOf(chain.name) !== 'SEP') continue;
    for (const rule of chain.rules) {
      if (rule.target?.kind !== 'DNAT') continue;
      const c = readComment(ruleComment(rule) ?? '');
      const proto = protoOf(rule);
      const ip = rule.target.to.replace(/^\[/, '').replace(/\]?:\d+$/, '');
      if (c && proto) ports.get(c.name, proto).endpoints.push({ ip });
    }
  }
  if (!podCIDR) {
    // kube-proxy ≥ 1.24 writes the pod CIDR test in each KUBE-SVC chain.
    for (const chain of nat?.chains ?? []) {
      if (roleOf(chain.name) !== 'SVC') continue;
      for (const rule of chain.rules) if (!podCIDR && targetChain(rule) === KUBE_MARK_MASQ) podCIDR = negatedSource(rule);
      if (podCIDR) break;
    }
  }
  const servicePorts = ports.list();
  const detector: LocalDetector = podCIDR ? { mode: 'ClusterCIDR', cidrs: [podCIDR] } : { mode: 'None' };
  if (podCIDR) notes.push(`pod CIDR ${podCIDR} read from kube-proxy's masquerade rules`);
  return { node: { family: rs.family, nodeIPs, localDetector: detector, nodePorts: { matchAll: true } }, servicePorts, notes };
}

function negatedSource(rule: Rule): string | undefined {
  for (const m of rule.matches) if (m.kind === 'source' && m.negate && parseCIDR(m.cidr)) return m.cidr;
  return undefined;
}

/** The nft kube-proxy table's maps: `service-ips`, `service-nodeports` and their no-endpoint twins. */
export function nftablesServices(rs: NftRuleset, family: Family, nodeIPs: string[]): DumpServices {
  const ports = new Ports();
  const notes: string[] = [];
  const table = rs.tables.find((t) => t.name === KUBE_PROXY_TABLE && t.family === (family === 'ipv4' ? 'ip' : 'ip6'));
  if (!table) return { node: { family, nodeIPs, localDetector: { mode: 'None' }, nodePorts: { matchAll: true } }, servicePorts: [], notes };
  const chainName = (v: { kind: string; chain?: string } | undefined) => (v && 'chain' in v ? v.chain : undefined);
  // service-HASH-ns/name/proto/portName → "ns/name:portName"
  const portOf = (chain: string | undefined, comment: string | undefined, proto: string, fallback: string) => {
    const o = chain ? nftOwner(chain) : undefined;
    const name = o && o.role !== 'endpoint' && o.role !== 'affinity' ? o.service : (comment?.split(' ')[0] ?? fallback);
    return ports.get(name, proto.toUpperCase() as Protocol);
  };
  for (const set of table.sets) {
    for (const el of set.elements) {
      const chain = chainName(el.value);
      if ((set.name === SERVICE_IPS_MAP || set.name === NO_ENDPOINT_SERVICES_MAP) && el.key.length === 3) {
        const [ip, proto, p] = el.key as [string, string, string];
        if (!/^(tcp|udp|sctp)$/.test(proto) || !/^\d+$/.test(p)) continue;
        const sp = portOf(chain, el.comment, proto, `${ip}:${p}/${proto}`);
        sp.port = Number(p);
        if (chain && nftRoleOf(chain) === 'external') addOnce(sp.externalIPs, ip);
        else if (set.name === NO_ENDPOINT_SERVICES_MAP && sp.clusterIP && sp.clusterIP !== ip) addOnce(sp.externalIPs, ip);
        else sp.clusterIP ||= ip;
      } else if ((set.name === SERVICE_NODEPORTS_MAP || set.name === NO_ENDPOINT_NODEPORTS_MAP) && el.key.length === 2) {
        const [proto, p] = el.key as [string, string];
        if (!/^(tcp|udp|sctp)$/.test(proto) || !/^\d+$/.test(p)) continue;
        portOf(chain, el.comment, proto, `nodeport ${p}/${proto}`).nodePort = Number(p);
      }
    }
  }
  let podCIDR: string | undefined;
  for (const c of table.chains) {
    if (nftRoleOf(c.name) !== 'service') continue;
    for (const r of c.rules) {
      const neg = r.exprs.find((e) => e.kind === 'addr' && e.field === 'saddr' && e.negate && e.values.length === 1);
      if (neg && neg.kind === 'addr' && parseCIDR(neg.values[0]!)) podCIDR ??= neg.values[0];
    }
    if (podCIDR) break;
  }
  for (const c of table.chains) {
    const m = /^endpoint-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/(tcp|udp|sctp)\/([^_]*)__(.+)\/\d+$/.exec(c.name);
    if (m)
      ports
        .get(`${m[1]}/${m[2]}${m[4] ? `:${m[4]}` : ''}`, m[3]!.toUpperCase() as Protocol)
        .endpoints.push({ ip: m[5]!.replaceAll('.', family === 'ipv6' ? ':' : '.') });
  }
  let nodePorts: ScenarioNode['nodePorts'] = { matchAll: true };
  let ips = nodeIPs;
  const npSet = table.sets.find((s) => s.name === NODEPORT_IPS_SET);
  const npIPs = (npSet?.elements ?? []).map((e) => e.key[0]!).filter((a) => parseIP(a));
  if (npIPs.length > 0) {
    nodePorts = { matchAll: false, addresses: npIPs };
    if (ips.length === 0) {
      ips = npIPs;
      notes.push(`node address${npIPs.length > 1 ? 'es' : ''} ${npIPs.join(', ')} read from the nodeport-ips set`);
    }
  }
  if (podCIDR) notes.push(`pod CIDR ${podCIDR} read from kube-proxy's masquerade rules`);
  const detector: LocalDetector = podCIDR ? { mode: 'ClusterCIDR', cidrs: [podCIDR] } : { mode: 'None' };
  return { node: { family, nodeIPs: ips, localDetector: detector, nodePorts }, servicePorts: ports.list(), notes };
}
