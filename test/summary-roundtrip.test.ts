// What a model's service port says must come back out of its compiled rules: every fixture
// cluster (kube-proxy's cases and ktables' own, plus examples/) is compiled for both backends,
// its rules split by service port and summarized (kubeproxy/*-ports.ts, *-summary.ts), and each
// summary compared with one built directly from the model's service port.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileIptables } from '../src/backends/iptables/compile.js';
import { compileNftables } from '../src/backends/nftables/compile.js';
import { proxyOptions } from '../src/cli/flags.js';
import { formatMatch } from '../src/emit/iptables.js';
import { formatExpr } from '../src/emit/nftables.js';
import { KUBE_PROXY_TABLE } from '../src/ir/nftables.js';
import { iptablesPorts } from '../src/kubeproxy/iptables-ports.js';
import { summarizeIptables } from '../src/kubeproxy/iptables-summary.js';
import { nftPorts } from '../src/kubeproxy/nftables-ports.js';
import { summarizeNftables } from '../src/kubeproxy/nftables-summary.js';
import { loadInventory } from '../src/input/load.js';
import type { Destination, DestinationKind, Handling, ServiceSummary } from '../src/kubeproxy/summary.js';
import { buildModel } from '../src/model/build.js';
import { categorizeEndpoints, usesClusterEndpoints, usesLocalEndpoints } from '../src/model/topology.js';
import type { ProxyModel, ServicePort } from '../src/model/types.js';
import { hostPort } from '../src/util/canonical.js';
import { allClusters, parseFlags } from './behaviour-support.js';
import { ROOT } from './helpers/cases.js';

type Mode = 'iptables' | 'nftables';

/** The summary a service port's rules must give, from the model alone. */
function expected(sp: ServicePort, model: ProxyModel, mode: Mode, shared: Map<string, ServicePort>): ServiceSummary {
  const n = model.node;
  const sel = categorizeEndpoints(sp, { nodeName: n.nodeName, zone: n.zone, nodeHints: true });
  const has = sel.hasAnyEndpoints;
  const noLocal = sel.localEndpoints.length === 0;
  const missing: Handling = has ? 'DROP' : 'REJECT';
  const internal: Handling = has && !(sp.internalPolicyLocal && noLocal) ? 'endpoints' : missing;
  const external: Handling = has && !(sp.externalPolicyLocal && noLocal) ? 'endpoints' : missing;
  const ranged = sp.loadBalancerSourceRanges.length > 0;
  const dests: Destination[] = [];
  if (sp.clusterIP) dests.push({ kind: 'clusterIP', address: hostPort(sp.clusterIP, sp.port), handling: internal });
  for (const ip of sp.externalIPs) dests.push({ kind: 'externalIP', address: hostPort(ip, sp.port), handling: external });
  for (const ip of sp.loadBalancerVIPs) dests.push({ kind: 'loadBalancerIP', address: hostPort(ip, sp.port), handling: external });
  if (sp.nodePort) dests.push({ kind: 'nodePort', address: String(sp.nodePort), handling: external });
  if (sp.healthCheckNodePort && mode === 'iptables')
    dests.push({ kind: 'healthCheckNodePort', address: String(sp.healthCheckNodePort), handling: 'ACCEPT' });
  const cluster = sel.clusterEndpoints.length > 0 && usesClusterEndpoints(sp) ? sel.clusterEndpoints : [];
  const local = sel.localEndpoints.length > 0 && usesLocalEndpoints(sp) ? sel.localEndpoints : [];
  const endpoints = sel.allReachable.map((e) => ({
    address: hostPort(e.ip, e.port),
    cluster: cluster.includes(e),
    local: local.includes(e),
  }));
  return {
    protocol: sp.protocol,
    // nftables' service-ips map holds one element per address and port: of two ports claiming
    // one, the rules show the last (kube-proxy's documented difference, behaviour/reasons.ts).
    destinations: dests.filter(
      (d) => mode === 'iptables' || !shared.has(`${sp.protocol} ${d.address}`) || shared.get(`${sp.protocol} ${d.address}`) === sp,
    ),
    // iptables writes the KUBE-FW chain only for a port with endpoints; nftables always.
    loadBalancerSourceRanges:
      (has || mode === 'nftables') && sp.loadBalancerVIPs.length > 0 && ranged ? [...sp.loadBalancerSourceRanges].sort() : [],
    sessionAffinityTimeoutSeconds: sp.sessionAffinity && sel.allReachable.length > 0 ? sp.sessionAffinity.timeoutSeconds : null,
    internalTrafficPolicy: sp.internalPolicyLocal ? 'Local' : 'Cluster',
    externalTrafficPolicy: sp.externalPolicyLocal ? 'Local' : 'Cluster',
    endpoints: endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
    clusterIPMasquerade: null,
  };
}

/** Each service port's summary, read back from the model's compiled rules by kube-proxy's vocabulary. */
function summaries(model: ProxyModel, mode: Mode): Map<string, ServiceSummary> {
  if (mode === 'iptables') {
    const ports = iptablesPorts(compileIptables(model)).ports;
    return new Map([...ports].map(([name, p]) => [name, summarizeIptables(p, formatMatch)]));
  }
  const family = model.node.family === 'ipv6' ? 'ip6' : 'ip';
  const table = compileNftables(model).tables.find((t) => t.name === KUBE_PROXY_TABLE && t.family === family)!;
  return new Map([...nftPorts(table, formatExpr).ports].map(([name, p]) => [name, summarizeNftables(p, formatExpr)]));
}

/** Where the rules cannot tell an external IP from a LoadBalancer IP, either is right. */
const kindMatches = (got: DestinationKind, want: DestinationKind) =>
  got === want || (got === 'externalIPOrLoadBalancerIP' && (want === 'externalIP' || want === 'loadBalancerIP'));

function mismatches(got: ServiceSummary, want: ServiceSummary): string[] {
  const out: string[] = [];
  if (got.protocol !== want.protocol) out.push(`protocol ${got.protocol} != ${want.protocol}`);
  const key = (d: Destination) => (d.kind === 'nodePort' || d.kind === 'healthCheckNodePort' ? `${d.kind} ${d.address}` : d.address);
  const gots = new Map(got.destinations.map((d) => [key(d), d]));
  for (const w of want.destinations) {
    const g = gots.get(key(w));
    if (!g || !kindMatches(g.kind, w.kind) || g.handling !== w.handling)
      out.push(`destination ${JSON.stringify(g)} != ${JSON.stringify(w)}`);
    gots.delete(key(w));
  }
  for (const g of gots.values()) out.push(`unexpected destination ${JSON.stringify(g)}`);
  if (JSON.stringify(got.endpoints) !== JSON.stringify(want.endpoints))
    out.push(`endpoints ${JSON.stringify(got.endpoints)} != ${JSON.stringify(want.endpoints)}`);
  if (JSON.stringify(got.loadBalancerSourceRanges) !== JSON.stringify(want.loadBalancerSourceRanges))
    out.push(`source ranges ${got.loadBalancerSourceRanges.join(',')} != ${want.loadBalancerSourceRanges.join(',')}`);
  if (got.sessionAffinityTimeoutSeconds !== want.sessionAffinityTimeoutSeconds)
    out.push(`affinity ${got.sessionAffinityTimeoutSeconds} != ${want.sessionAffinityTimeoutSeconds}`);
  // A policy the rules show must be the model's (rules without endpoints may not show it).
  for (const k of ['internalTrafficPolicy', 'externalTrafficPolicy'] as const)
    if (got[k] !== null && got[k] !== want[k]) out.push(`${k} ${got[k]} != ${want[k]}`);
  return out;
}

const clusters = [
  ...allClusters(),
  { name: 'examples/cluster.yaml', dir: join(ROOT, 'examples'), args: ['--hostname-override', 'worker-1'], file: 'cluster.yaml' },
];

describe('summarizing a compiled model gives back the model', () => {
  for (const mode of ['iptables', 'nftables'] as const) {
    it(`${mode}: every service port of every fixture cluster`, () => {
      const problems: string[] = [];
      let ports = 0;
      for (const c of clusters) {
        const text = readFileSync(join(c.dir, 'file' in c ? c.file : 'manifests.yaml'), 'utf8');
        const flags = parseFlags(c.args);
        let model: ProxyModel;
        try {
          const opts = proxyOptions({ ...flags, 'proxy-mode': mode });
          const inv = loadInventory(['-'], () => text);
          model = buildModel(inv, opts, [...inv.notes]);
        } catch {
          continue; // a case whose flags one mode refuses
        }
        const got = summaries(model, mode);
        // External and LoadBalancer addresses claimed by more than one port: the last one's.
        const claims = new Map<string, ServicePort>();
        const shared = new Map<string, ServicePort>();
        for (const sp of model.servicePorts)
          for (const ip of [...sp.externalIPs, ...sp.loadBalancerVIPs]) {
            const k = `${sp.protocol} ${hostPort(ip, sp.port)}`;
            if (claims.has(k)) shared.set(k, sp);
            claims.set(k, sp);
          }
        for (const sp of model.servicePorts) {
          // kube-proxy 1.37 cuts a no-endpoint element's comment (its port's name) to 128 bytes.
          const cut = [...got.keys()].find((k) => k.length < sp.displayName.length && sp.displayName.startsWith(k));
          const summary = got.get(sp.displayName) ?? (cut === undefined ? undefined : got.get(cut));
          const want = expected(sp, model, mode, shared);
          if (!summary) {
            if (want.destinations.length > 0) problems.push(`${c.name} ${sp.displayName}: no rules`);
            continue;
          }
          ports++;
          for (const m of mismatches(summary, want)) problems.push(`${c.name} ${sp.displayName}: ${m}`);
        }
      }
      expect(ports).toBeGreaterThan(50);
      expect(problems).toEqual([]);
    });
  }
});
