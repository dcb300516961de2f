// Model → kube-proxy's nftables table: the fixed objects, then one pass over the service
// ports in model order writing each port's elements, chains and rules the way kube-proxy's
// nftables syncProxyRules does in a full sync. Pure: same model in, same table out.
import type { Expr, L3, NftRuleset, SimpleVerdict } from '../../ir/nftables.js';
import { KUBE_PROXY_TABLE } from '../../ir/nftables.js';
import {
  categorizeEndpoints,
  externallyAccessible,
  usesClusterEndpoints,
  usesLocalEndpoints,
  type TopologyContext,
} from '../../model/topology.js';
import type { Endpoint, LocalDetector, NodeContext, ProxyModel, ServicePort } from '../../model/types.js';
import { cidrContains, parseCIDR, parseIP } from '../../util/ip.js';
import { nftNeedsQuote } from '../../input/ifname.js';
import { TableBuilder, addr, anonSet, drop, fibLocal, goto } from './builder.js';
import { addFixedObjects, addrTypeOf, l3Of, masqueradeStatement } from './fixed.js';
import { endpointNames, portNames, type EndpointNames, type PortNames } from './names.js';
import {
  CLUSTER_IPS_SET,
  FIREWALL_IPS_MAP,
  HAIRPIN_SET,
  LOCALHOST_NODEPORT_REJECT_MAP,
  localhostNodePortRejectChain,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  REJECT_CHAIN,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
} from '../../kubeproxy/nftables-names.js';

/** kube-proxy's IfLocalNFT / IfNotLocalNFT; undefined when no detector is implemented. */
function localMatch(d: LocalDetector, l3: L3, negate: boolean): Expr | undefined {
  switch (d.mode) {
    case 'ClusterCIDR':
    case 'NodeCIDR':
      return addr(l3, 'saddr', d.cidrs[0]!, negate);
    case 'BridgeInterface':
      return { kind: 'ifname', dir: 'iifname', name: d.interfaceName, negate, quoted: nftNeedsQuote(d.interfaceName) || undefined };
    case 'InterfaceNamePrefix':
      return {
        kind: 'ifname',
        dir: 'iifname',
        name: `${d.interfacePrefix}*`,
        negate,
        quoted: nftNeedsQuote(`${d.interfacePrefix}*`) || undefined,
      };
    case 'None':
      return undefined;
  }
}

function contains(range: string, ip: string | undefined): boolean {
  const c = parseCIDR(range);
  const p = ip === undefined ? undefined : parseIP(ip);
  return !!c && !!p && cidrContains(c, p);
}

/** knftables' CommentLengthMax: kube-proxy 1.37 cuts element comments to it (PR #139516). */
const COMMENT_LENGTH_MAX = 128;

// Rules share these: the IR is never mutated once built, and a large cluster has 10^5 of each.
const FROM_LOCAL = fibLocal('saddr');
const FROM_LOCAL_ONLY: Expr[] = [FROM_LOCAL];
const GOTO_REJECT = goto(REJECT_CHAIN);
const L4PROTO: Record<string, Expr> = {};
const l4proto = (p: string): Expr => (L4PROTO[p] ??= { kind: 'l4proto', protocol: p });
/** `[meta l4proto P]`, the whole match list of every DNAT rule. */
const L4PROTO_ONLY: Record<string, Expr[]> = {};
const l4protoOnly = (p: string): Expr[] => (L4PROTO_ONLY[p] ??= [l4proto(p)]);
// toLowerCase allocates a new string on every call; there are three protocols.
const LOWER: Record<string, string> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
const lower = (p: string): string => LOWER[p] ?? p.toLowerCase();

/** Each endpoint's names, hashed once however many chains and sets refer to them. */
class EndpointNamer {
  private readonly byAddress = new Map<string, EndpointNames>();
  constructor(private readonly port: PortNames) {}

  of(ep: Endpoint): EndpointNames {
    let n = this.byAddress.get(ep.address);
    if (!n) this.byAddress.set(ep.address, (n = endpointNames(this.port, ep)));
    return n;
  }
}

class Compiler {
  private readonly node: NodeContext;
  private readonly l3: L3;
  private readonly b: TableBuilder;
  private readonly ifLocal: Expr | undefined;
  private readonly ifNotLocal: Expr | undefined;
  private readonly topology: TopologyContext;
  /** Match lists the external chain of every Local-policy port repeats (the IR is never mutated). */
  private readonly shared: { ifLocal: Expr[]; fromLocalMasq: Expr[] };
  /** The masquerade statement of this release: `jump mark-for-masquerade` or an inline mark. */
  private readonly masq: { exprs: Expr[]; verdict?: SimpleVerdict };

  constructor(private readonly model: ProxyModel) {
    this.node = model.node;
    this.l3 = l3Of(this.node);
    this.b = new TableBuilder(this.l3, KUBE_PROXY_TABLE, 'rules for kube-proxy');
    this.ifLocal = localMatch(this.node.localDetector, this.l3, false);
    this.ifNotLocal = localMatch(this.node.localDetector, this.l3, true);
    this.masq = masqueradeStatement(this.node);
    this.topology = { nodeName: this.node.nodeName, zone: this.node.zone, nodeHints: true };
    this.shared = {
      ifLocal: this.ifLocal ? [this.ifLocal] : [],
      fromLocalMasq: [FROM_LOCAL, ...this.masq.exprs],
    };
  }

  /** A rule that marks for masquerade after its matches. */
  private masqRule(chain: string, matches: Expr[], comment?: string): void {
    this.b.rule(chain, this.masq.exprs.length ? [...matches, ...this.masq.exprs] : matches, this.masq.verdict, comment);
  }

  compile(): NftRuleset {
    addFixedObjects(this.b, this.node, this.ifNotLocal);
    // Indexed loops here and below: this runs once per service port and endpoint, mostly before
    // the JIT has optimised it, and unoptimised for-of allocates an iterator result per step.
    const ports = this.model.servicePorts;
    for (let i = 0; i < ports.length; i++) this.servicePort(ports[i]!);
    return { tables: [this.b.build()] };
  }

  private servicePort(sp: ServicePort): void {
    const { b, l3, node } = this;
    const proto = lower(sp.protocol);
    const port = String(sp.port);
    const names = portNames(sp);
    const sel = categorizeEndpoints(sp, this.topology);
    const reachable = sel.allReachable;

    const r = node.release;
    // Since 1.36 endpoint chains exist only to remember ClientIP affinity.
    const endpointChains = !r.nftDirectDnat || !!sp.sessionAffinity;
    const ep = endpointChains ? new EndpointNamer(names) : undefined;
    if (ep) for (let i = 0; i < reachable.length; i++) b.chain(ep.of(reachable[i]!).chain);
    if (r.nftHairpinSet) {
      for (let i = 0; i < reachable.length; i++) {
        const e = reachable[i]!;
        if (e.isLocal) b.element(HAIRPIN_SET, [e.ip, e.ip, proto, String(e.port)]);
      }
    }
    const usesClusterChain = sel.clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    const usesLocalChain = sel.localEndpoints.length > 0 && usesLocalEndpoints(sp);
    if (usesClusterChain) b.chain(names.service);
    if (usesLocalChain) b.chain(names.local);

    const hasEndpoints = sel.hasAnyEndpoints;
    const noLocal = sel.localEndpoints.length === 0;
    const internalChain = sp.internalPolicyLocal ? names.local : names.service;
    const hasInternal = hasEndpoints && !(sp.internalPolicyLocal && noLocal);
    const externalPolicyChain = sp.externalPolicyLocal ? names.local : names.service;
    const hasExternal = hasEndpoints && !(sp.externalPolicyLocal && noLocal);
    // The external chain also holds the short-circuit rules for pod and node traffic, so it
    // exists whenever there are endpoints anywhere.
    const externallyReachable = externallyAccessible(sp);
    const usesExternalChain = hasEndpoints && externallyReachable;
    if (usesExternalChain) b.chain(names.external);
    // Without any endpoint: reject. With endpoints elsewhere only: drop what policy excludes.
    const filterVerdict: SimpleVerdict = hasEndpoints ? drop : GOTO_REJECT;
    const toExternal = externallyReachable && hasEndpoints ? goto(names.external) : undefined;

    const name =
      r.nftTruncatedComments && sp.displayName.length > COMMENT_LENGTH_MAX ? sp.displayName.slice(0, COMMENT_LENGTH_MAX) : sp.displayName;

    b.element(CLUSTER_IPS_SET, [sp.clusterIP]);
    if (hasInternal) b.element(SERVICE_IPS_MAP, [sp.clusterIP, proto, port], goto(internalChain));
    else b.element(NO_ENDPOINT_SERVICES_MAP, [sp.clusterIP, proto, port], filterVerdict, name);

    for (let i = 0; i < sp.externalIPs.length; i++) {
      const ip = sp.externalIPs[i]!;
      if (toExternal) b.element(SERVICE_IPS_MAP, [ip, proto, port], toExternal);
      if (!hasExternal) b.element(NO_ENDPOINT_SERVICES_MAP, [ip, proto, port], filterVerdict, name);
    }

    // Source ranges apply to LoadBalancer IPs only, and whether or not there are endpoints.
    const vips = sp.loadBalancerVIPs;
    const usesFirewall = vips.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    if (usesFirewall) b.chain(names.firewall);
    const toFirewall = usesFirewall ? goto(names.firewall) : undefined;
    for (let i = 0; i < vips.length; i++) {
      if (toExternal) b.element(SERVICE_IPS_MAP, [vips[i]!, proto, port], toExternal);
      if (toFirewall) b.element(FIREWALL_IPS_MAP, [vips[i]!, proto, port], toFirewall);
    }
    if (!hasExternal)
      for (let i = 0; i < vips.length; i++) b.element(NO_ENDPOINT_SERVICES_MAP, [vips[i]!, proto, port], filterVerdict, name);

    if (sp.nodePort !== 0) {
      const np = [proto, String(sp.nodePort)];
      if (node.localhostNodePortRejects.includes(proto as 'tcp'))
        b.element(LOCALHOST_NODEPORT_REJECT_MAP, np, goto(localhostNodePortRejectChain(proto)));
      if (toExternal) b.element(SERVICE_NODEPORTS_MAP, np, toExternal);
      if (!hasExternal) b.element(NO_ENDPOINT_NODEPORTS_MAP, np, filterVerdict, name);
    }

    // Internal traffic: masquerade what does not come from a local pod (since 1.36 one rule
    // in `services` does this for every cluster IP).
    if (hasInternal && !r.nftServicesClusterIPMasquerade) {
      const toClusterIP = addr(l3, 'daddr', sp.clusterIP);
      if (node.masqueradeAll) this.masqRule(internalChain, [toClusterIP]);
      else if (this.ifNotLocal) this.masqRule(internalChain, [toClusterIP, this.ifNotLocal]);
    }

    if (usesExternalChain) {
      if (!sp.externalPolicyLocal) {
        // Endpoints may be on other nodes: masquerade so replies come back through us.
        b.rule(names.external, this.masq.exprs, this.masq.verdict, r.nftInlineMasqueradeMark ? 'masquerade' : undefined);
      } else {
        // Pods and the node itself reach the service as if from inside, whatever the policy.
        const toService = goto(names.service);
        if (this.ifLocal) b.rule(names.external, this.shared.ifLocal, toService, 'short-circuit pod traffic');
        b.rule(names.external, this.shared.fromLocalMasq, this.masq.verdict, 'masquerade local traffic');
        b.rule(names.external, FROM_LOCAL_ONLY, toService, 'short-circuit local traffic');
      }
      if (hasExternal) b.rule(names.external, [], goto(externalPolicyChain));
    }

    if (usesFirewall) {
      const sources = [...sp.loadBalancerSourceRanges];
      // A VIP bound on this node loops node traffic back with the VIP as source: let it in.
      if (sources.some((r) => contains(r, node.primaryNodeIP))) sources.push(...vips);
      b.rule(names.firewall, [anonSet(l3, 'saddr', sources, ' , ', true)], drop);
    }

    if (sp.sessionAffinity && ep) {
      const set = {
        kind: 'set' as const,
        keyType: [addrTypeOf(node)],
        flags: ['dynamic', 'timeout'],
        timeout: sp.sessionAffinity.timeoutSeconds,
      };
      for (let i = 0; i < reachable.length; i++) b.set({ ...set, name: ep.of(reachable[i]!).affinitySet });
    }

    if (usesClusterChain) this.dispatch(sp, proto, names.service, sel.clusterEndpoints, ep);
    if (usesLocalChain) this.dispatch(sp, proto, names.local, sel.localEndpoints, ep);

    if (!ep) return;
    const dnatMatch = l4protoOnly(proto);
    for (let i = 0; i < reachable.length; i++) {
      const e = reachable[i]!;
      const n = ep.of(e);
      // Hairpin: an endpoint reaching itself through the service must be masqueraded (since
      // 1.36 the hairpin-connections set does this in `masquerading`).
      if (!r.nftHairpinSet) this.masqRule(n.chain, [addr(l3, 'saddr', e.ip)]);
      if (sp.sessionAffinity) b.rule(n.chain, [{ kind: 'setUpdate', set: n.affinitySet, l3, field: 'saddr' }]);
      b.rule(n.chain, dnatMatch, { kind: 'dnat', to: e.address });
    }
  }

  /**
   * Service chain → endpoints: remembered clients first, then a random pick. EP names the
   * endpoint chains; there are none since 1.36 unless the port has ClientIP affinity.
   */
  private dispatch(sp: ServicePort, proto: string, chain: string, endpoints: Endpoint[], ep: EndpointNamer | undefined): void {
    const { b, l3 } = this;
    const r = this.node.release;
    const n = endpoints.length;
    if (!ep) {
      // 1.37 skips the map for one endpoint (PR #140723, #140960).
      if (n === 1 && r.nftSingleEndpointDnat) b.rule(chain, l4protoOnly(proto), { kind: 'dnat', to: endpoints[0]!.address });
      else {
        const entries = new Array<{ index: number; ip: string; port: number }>(n);
        for (let i = 0; i < n; i++) entries[i] = { index: i, ip: endpoints[i]!.ip, port: endpoints[i]!.port };
        b.rule(chain, l4protoOnly(proto), { kind: 'dnatMap', l3, mod: n, entries, sep: ' , ' });
      }
      return;
    }
    if (sp.sessionAffinity) {
      for (let i = 0; i < n; i++) {
        const names = ep.of(endpoints[i]!);
        b.rule(chain, [{ kind: 'lookup', l3, field: 'saddr', set: names.affinitySet }], goto(names.chain));
      }
    }
    const entries = new Array<{ index: number; verdict: SimpleVerdict }>(n);
    for (let i = 0; i < n; i++) entries[i] = { index: i, verdict: goto(ep.of(endpoints[i]!).chain) };
    b.rule(chain, [], { kind: 'numgen', mod: n, entries, sep: ' , ' });
  }
}

export function compileNftables(model: ProxyModel): NftRuleset {
  return new Compiler(model).compile();
}
