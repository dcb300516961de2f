// Model → iptables rule set, one pass over the service ports in the order kube-proxy's
// syncProxyRules writes a full sync. Pure: no I/O, same model in, same rules out.
import type { Chain, IptablesRuleset, Match, Rule, Table, Target } from '../../ir/iptables.js';
import type { Endpoint, LocalDetector, NodeContext, ProxyModel, ServicePort } from '../../model/types.js';
import {
  categorizeEndpoints,
  externallyAccessible,
  usesClusterEndpoints,
  usesLocalEndpoints,
  type TopologyContext,
} from '../../model/topology.js';
import { IPT_COMMENT, NODEPORTS_LAST_RULE_COMMENT } from '../../kubeproxy/iptables-comments.js';
import { canonicalRuleset } from './canonical.js';
import { staleServiceChains } from './stale.js';
import { endpointChain, portChains } from './names.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from '../../kubeproxy/iptables-names.js';
import {
  INVALID_DROP_NFACCT as NFACCT_INVALID_DROPPED,
  LOCALHOST_NODEPORT_NFACCT as NFACCT_LOCALHOST_NODEPORTS,
} from '../../kubeproxy/detect.js';
import { Shared, TableWriter, addrtype, comment, dport, dst, src } from './writer.js';
import { cidrContains, parseCIDR, parseIP, type IP } from '../../util/ip.js';

type JumpTarget = Extract<Target, { kind: 'jump' }>;

/** kube-proxy switches comments off on endpoint rules above this many endpoints. */
const LARGE_CLUSTER_ENDPOINTS = 1000;

export interface IptablesCompileOptions {
  /** Chains present on the node before this sync (from its iptables-save), for stale-chain deletion. */
  previousNatChains?: string[];
}

function ifLocal(d: LocalDetector): Match[] {
  switch (d.mode) {
    case 'ClusterCIDR':
    case 'NodeCIDR':
      return [src(d.cidrs[0]!)];
    case 'BridgeInterface':
      return [{ kind: 'inInterface', name: d.interfaceName }];
    case 'InterfaceNamePrefix':
      return [{ kind: 'inInterface', name: `${d.interfacePrefix}+` }];
    case 'None':
      return [];
  }
}

function ifNotLocal(d: LocalDetector): Match[] {
  return ifLocal(d).map((m) => ({ ...m, negate: true }) as Match);
}

/** 1/n with ten decimals, as kube-proxy's %0.10f prints it. */
function probability(n: number): string {
  return (1 / n).toFixed(10);
}

// The probability ladder repeats the same few steps on every service: one match object each.
const statisticMatches: Match[] = [];
function statistic(n: number): Match {
  return (statisticMatches[n] ??= { kind: 'statistic', probability: probability(n) });
}

// Without comments (large clusters) most dispatch rules hold nothing but one of these: one frozen
// list each, shared by every rule that has it, instead of ~10^5 identical small arrays.
const NO_MATCHES: Match[] = Object.freeze([]) as unknown as Match[];
const statisticOnlyMatches: Match[][] = [];
function statisticOnly(n: number): Match[] {
  return (statisticOnlyMatches[n] ??= Object.freeze([statistic(n)]) as unknown as Match[]);
}

/** The jump to a per-service chain: used once or twice each, so not shared. */
const jumpTo = (chain: string): JumpTarget => ({ kind: 'jump', chain });

class Compiler {
  readonly filter = new TableWriter('filter');
  readonly nat = new TableWriter('nat');
  private readonly largeCluster: boolean;
  private readonly node: NodeContext;
  private readonly activeNat = new Set<string>();
  private readonly shared = new Shared();
  private readonly markMasq: Target = this.shared.jump(KUBE_MARK_MASQ);
  private readonly jump = (chain: string) => this.shared.jump(chain);
  private readonly verdict = (v: 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN') => this.shared.verdict(v);
  private readonly proto = (p: string) => this.shared.proto(p);
  // Matches every service port's rules repeat, made once.
  private readonly localSrc = addrtype('src');
  private readonly localDst = addrtype('dst');
  /** Traffic from a local pod (empty without local detection), and its negation. */
  private readonly local: Match[];
  private readonly notLocal: Match[];
  private readonly topology: TopologyContext;

  constructor(private readonly model: ProxyModel) {
    this.node = model.node;
    this.largeCluster = model.totalEndpoints > LARGE_CLUSTER_ENDPOINTS;
    this.local = ifLocal(this.node.localDetector);
    this.notLocal = ifNotLocal(this.node.localDetector);
    this.topology = { nodeName: this.node.nodeName, zone: this.node.zone, nodeHints: true };
    this.nodeIP = this.node.primaryNodeIP === undefined ? undefined : parseIP(this.node.primaryNodeIP);
  }

  // Services often share their loadBalancerSourceRanges: each range is checked once.
  private readonly nodeInRanges = new Map<string, boolean>();
  private readonly nodeIP: IP | undefined;
  /** Whether the node's primary IP is in RANGE. */
  private nodeInRange(range: string): boolean {
    let inside = this.nodeInRanges.get(range);
    if (inside === undefined) {
      const c = parseCIDR(range);
      inside = !!c && !!this.nodeIP && cidrContains(c, this.nodeIP);
      this.nodeInRanges.set(range, inside);
    }
    return inside;
  }

  // Only a sync against a previous rule set (--previous-rules) needs the written chains' names.
  private trackActive = false;

  private declareNat(chain: string): Chain {
    if (this.trackActive) this.activeNat.add(chain);
    return this.nat.declare(chain);
  }

  /** A per-service nat chain with all its rules. */
  private addNatChain(chain: string, rules: Rule[]): void {
    if (this.trackActive) this.activeNat.add(chain);
    this.nat.addChain(chain, rules);
  }

  compile(opts: IptablesCompileOptions): IptablesRuleset {
    const n = this.node;
    const mark = n.masqueradeMark;
    this.trackActive = (opts.previousNatChains?.length ?? 0) > 0;
    for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]) this.filter.declare(c);
    for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) this.declareNat(c);

    // Masquerading: packets marked by KUBE-MARK-MASQ are SNATed on the way out, once.
    this.nat.add(KUBE_POSTROUTING, [{ kind: 'mark', value: mark, mask: mark, negate: true }], this.verdict('RETURN'));
    this.nat.add(KUBE_POSTROUTING, [], { kind: 'MARK', op: 'xor', value: mark });
    this.nat.add(KUBE_POSTROUTING, [comment('kubernetes service traffic requiring SNAT')], {
      kind: 'MASQUERADE',
      randomFully: n.randomFully,
    });
    this.nat.add(KUBE_MARK_MASQ, [], { kind: 'MARK', op: 'or', value: mark });

    // localhost NodePorts need route_localnet, which opens 127/8 to martians: block them.
    if (n.family === 'ipv4' && n.localhostNodePorts) {
      this.filter.declare(KUBE_FIREWALL);
      this.filter.add(
        KUBE_FIREWALL,
        [
          comment('block incoming localnet connections'),
          dst('127.0.0.0/8'),
          src('127.0.0.0/8', true),
          { kind: 'conntrack', states: ['RELATED', 'ESTABLISHED', 'DNAT'], negate: true },
        ],
        this.verdict('DROP'),
      );
    }

    for (const sp of this.model.servicePorts) this.servicePort(sp);

    const deleted = this.staleChains(opts.previousNatChains ?? []);

    // The NodePort dispatch must be the last rule of nat KUBE-SERVICES.
    const lastComment = comment(NODEPORTS_LAST_RULE_COMMENT);
    if (n.nodePorts.matchAll) {
      const extra: Match[] = n.family === 'ipv6' ? [dst('::1/128', true)] : n.localhostNodePorts ? [] : [dst('127.0.0.0/8', true)];
      this.nat.add(KUBE_SERVICES, [lastComment, addrtype('dst'), ...extra], this.jump(KUBE_NODEPORTS));
    } else {
      for (const ip of n.nodePorts.addresses) {
        const loopback = parseIP(ip);
        if (loopback && (ip === '::1' || ip.startsWith('127.'))) {
          if (n.family === 'ipv6' || !n.localhostNodePorts) continue;
        }
        if (loopback?.family !== n.family) continue;
        this.nat.add(KUBE_SERVICES, [lastComment, dst(ip)], this.jump(KUBE_NODEPORTS));
      }
    }

    if (!n.conntrackTcpBeLiberal) {
      const m: Match[] = [{ kind: 'conntrack', states: ['INVALID'] }];
      if (n.nfacct && n.release.iptInvalidDropNfacct) m.push({ kind: 'nfacct', name: NFACCT_INVALID_DROPPED });
      this.filter.add(KUBE_FORWARD, m, this.verdict('DROP'));
    }
    this.filter.add(
      KUBE_FORWARD,
      [comment('kubernetes forwarding rules'), { kind: 'mark', value: mark, mask: mark }],
      this.verdict('ACCEPT'),
    );
    this.filter.add(
      KUBE_FORWARD,
      [comment('kubernetes forwarding conntrack rule'), { kind: 'conntrack', states: ['RELATED', 'ESTABLISHED'] }],
      this.verdict('ACCEPT'),
    );

    const tables: Table[] = [
      { name: 'filter', chains: this.filter.list(), deleted: [] },
      { name: 'nat', chains: this.nat.list(), deleted },
    ];
    return canonicalRuleset({ family: n.family, tables });
  }

  /** Per-service chains that exist on the node but were not written now: flush and delete. */
  private staleChains(previous: string[]): string[] {
    const stale = staleServiceChains(previous, (c) => this.activeNat.has(c));
    for (const c of stale) this.nat.declare(c);
    return stale;
  }

  private servicePort(sp: ServicePort): void {
    const n = this.node;
    const name = sp.displayName;
    const p = sp.protocol.toLowerCase();
    const sel = categorizeEndpoints(sp, this.topology);

    const { svc: clusterPolicyChain, svl: localPolicyChain, ext: extChain, fw: fwChain } = portChains(sp);
    const usesClusterPolicyChain = sel.clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    const usesLocalPolicyChain = sel.localEndpoints.length > 0 && usesLocalEndpoints(sp);

    const hasEndpoints = sel.hasAnyEndpoints;
    const internalChain = sp.internalPolicyLocal ? localPolicyChain : clusterPolicyChain;
    const hasInternalEndpoints = hasEndpoints && !(sp.internalPolicyLocal && sel.localEndpoints.length === 0);
    const externalPolicyChain = sp.externalPolicyLocal ? localPolicyChain : clusterPolicyChain;
    const hasExternalEndpoints = hasEndpoints && !(sp.externalPolicyLocal && sel.localEndpoints.length === 0);
    // The EXT chain also carries the short-circuit rules for pod and node traffic, so it
    // exists whenever there are endpoints anywhere, not only external ones.
    const usesExtChain = hasEndpoints && externallyAccessible(sp);
    const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const lbChain = usesFWChain ? fwChain : extChain;

    // A port without (local) endpoints answers from the filter table: one comment and verdict
    // for all of those rules, made only when there are such rules.
    const filterTarget = this.verdict(hasEndpoints ? 'DROP' : 'REJECT');
    const filterComment =
      hasInternalEndpoints && hasExternalEndpoints
        ? undefined
        : comment(hasEndpoints ? IPT_COMMENT.noLocalEndpoints(name) : IPT_COMMENT.noEndpoints(name));

    // Match lists are array literals of their final length: a list spread together reserves room
    // for 17 elements, and a large cluster keeps a few of them per service port. Matches are
    // shared between rules where they are the same (the IR is never changed once built).
    const [mod, protocol] = this.proto(p) as [Match, Match];
    const toPort = (c: Match, ip: string, port: number): Match[] => [c, mod, protocol, dst(ip), dport(port)];
    const clusterIPMatches = hasInternalEndpoints ? toPort(comment(IPT_COMMENT.clusterIP(name)), sp.clusterIP, sp.port) : undefined;

    // Cluster IP.
    if (clusterIPMatches) {
      this.nat.add(KUBE_SERVICES, clusterIPMatches, jumpTo(internalChain));
    } else {
      this.filter.add(KUBE_SERVICES, toPort(filterComment!, sp.clusterIP, sp.port), filterTarget);
    }

    // External IPs.
    for (const ip of sp.externalIPs) {
      if (hasEndpoints) this.nat.add(KUBE_SERVICES, toPort(comment(IPT_COMMENT.externalIP(name)), ip, sp.port), jumpTo(extChain));
      if (!hasExternalEndpoints) this.filter.add(KUBE_EXTERNAL_SERVICES, toPort(filterComment!, ip, sp.port), filterTarget);
    }

    // LoadBalancer VIPs.
    for (const ip of sp.loadBalancerVIPs) {
      if (hasEndpoints) this.nat.add(KUBE_SERVICES, toPort(comment(IPT_COMMENT.loadBalancerIP(name)), ip, sp.port), jumpTo(lbChain));
      if (usesFWChain) {
        this.filter.add(KUBE_PROXY_FIREWALL, toPort(comment(IPT_COMMENT.notAccepted(name, fwChain)), ip, sp.port), this.verdict('DROP'));
      }
    }
    if (!hasExternalEndpoints) {
      for (const ip of sp.loadBalancerVIPs) {
        this.filter.add(KUBE_EXTERNAL_SERVICES, toPort(filterComment!, ip, sp.port), filterTarget);
      }
    }

    // NodePort (never subject to loadBalancerSourceRanges).
    if (sp.nodePort !== 0) {
      if (hasEndpoints) {
        if (n.localhostNodePorts && n.family === 'ipv4' && n.nfacct && n.release.iptLocalhostNodePortsNfacct) {
          this.nat.add(
            KUBE_NODEPORTS,
            [
              comment(IPT_COMMENT.servicePort(name)),
              mod,
              protocol,
              dst('127.0.0.0/8'),
              dport(sp.nodePort),
              { kind: 'nfacct', name: NFACCT_LOCALHOST_NODEPORTS },
            ],
            jumpTo(extChain),
          );
        }
        this.nat.add(KUBE_NODEPORTS, [comment(IPT_COMMENT.servicePort(name)), mod, protocol, dport(sp.nodePort)], jumpTo(extChain));
      }
      if (!hasExternalEndpoints) {
        this.filter.add(KUBE_EXTERNAL_SERVICES, [filterComment!, this.localDst, mod, protocol, dport(sp.nodePort)], filterTarget);
      }
    }

    // Health check node port: accepted whether or not there are local endpoints.
    if (sp.healthCheckNodePort !== 0) {
      const [tcpModule, tcp] = this.proto('tcp') as [Match, Match];
      this.filter.add(
        KUBE_NODEPORTS,
        [comment(IPT_COMMENT.healthCheckNodePort(name)), tcpModule, tcp, dport(sp.healthCheckNodePort)],
        this.verdict('ACCEPT'),
      );
    }

    // The port's own chains are assembled here and added whole, each once: a large cluster has
    // ~10^5 of them, and none is written to by another port.

    // Internal traffic: masquerade what does not come from a local pod.
    let internalMasq: Rule | undefined;
    if (clusterIPMatches) {
      if (n.masqueradeAll) internalMasq = { matches: clusterIPMatches, target: this.markMasq };
      else if (n.localDetector.mode !== 'None') internalMasq = { matches: clusterIPMatches.concat(this.notLocal), target: this.markMasq };
    }

    // External traffic: every external destination enters the EXT chain.
    if (usesExtChain) {
      const ext: Rule[] = [];
      if (!sp.externalPolicyLocal) {
        ext.push({ matches: [comment(IPT_COMMENT.masqueradeExternal(name))], target: this.markMasq });
      } else {
        if (n.localDetector.mode !== 'None') {
          ext.push({ matches: [comment(IPT_COMMENT.podExternal(name))].concat(this.local), target: jumpTo(clusterPolicyChain) });
        }
        ext.push({ matches: [comment(IPT_COMMENT.masqueradeLocalExternal(name)), this.localSrc], target: this.markMasq });
        ext.push({ matches: [comment(IPT_COMMENT.routeLocalExternal(name)), this.localSrc], target: jumpTo(clusterPolicyChain) });
      }
      if (hasExternalEndpoints) ext.push({ matches: NO_MATCHES, target: jumpTo(externalPolicyChain) });
      this.addNatChain(extChain, ext);
    }

    // loadBalancerSourceRanges.
    if (usesFWChain) {
      const fw: Rule[] = [];
      const base = comment(IPT_COMMENT.loadBalancerIP(name));
      const toExt = jumpTo(extChain);
      let allowFromNode = false;
      for (const range of sp.loadBalancerSourceRanges) {
        fw.push({ matches: [base, src(range)], target: toExt });
        if (this.nodeInRange(range)) allowFromNode = true;
      }
      // A VIP bound locally loops node traffic back with the VIP as source: let it in.
      if (allowFromNode) for (const ip of sp.loadBalancerVIPs) fw.push({ matches: [base, src(ip)], target: toExt });
      fw.push({ matches: [comment(IPT_COMMENT.otherDropped(name))] });
      this.addNatChain(fwChain, fw);
    }

    // The endpoint chains are named in the dispatch rules and again for the chains themselves:
    // the jump to each (which holds its name) is made once.
    const reachable = sel.allReachable;
    const sepJumps = reachable.map((ep) => jumpTo(endpointChain(sp, ep)));
    /** The jumps to the chains of ENDPOINTS, reachable endpoints all. */
    const jumpsTo = (endpoints: Endpoint[]): JumpTarget[] => {
      // Usually the very list of reachable endpoints; otherwise paired through a map.
      if (endpoints === reachable) return sepJumps;
      const byEndpoint = new Map(reachable.map((ep, i) => [ep, sepJumps[i]!]));
      return endpoints.map((ep) => byEndpoint.get(ep)!);
    };

    // The policy chains: the internal masquerade rule first (on the internal one), then dispatch.
    const policyChain = (chain: string, endpoints: Endpoint[] | undefined) => {
      const first = chain === internalChain ? internalMasq : undefined;
      if (endpoints) this.addNatChain(chain, this.dispatchRules(sp, endpoints, jumpsTo(endpoints), first));
      else if (first) this.addNatChain(chain, [first]);
    };
    policyChain(clusterPolicyChain, usesClusterPolicyChain ? sel.clusterEndpoints : undefined);
    policyChain(localPolicyChain, usesLocalPolicyChain ? sel.localEndpoints : undefined);

    // One chain per endpoint: ~10^5 in a large cluster, so each list below is made at its final
    // length (an array literal), never grown.
    const sepComment = this.largeCluster ? undefined : comment(IPT_COMMENT.servicePort(name));
    for (let i = 0; i < reachable.length; i++) {
      const ep = reachable[i]!;
      const jump = sepJumps[i]!;
      // Hairpin: an endpoint reaching itself through the service must be masqueraded.
      const hairpin: Match[] = sepComment ? [sepComment, src(ep.ip)] : [src(ep.ip)];
      let dnat: Match[];
      if (sp.sessionAffinity) {
        const affinity: Match = { kind: 'recent', name: jump.chain, action: 'set' };
        dnat = sepComment ? [sepComment, affinity, mod, protocol] : [affinity, mod, protocol];
      } else dnat = sepComment ? [sepComment, mod, protocol] : this.shared.frozenProto(p);
      this.addNatChain(jump.chain, [
        { matches: hairpin, target: this.markMasq },
        { matches: dnat, target: { kind: 'DNAT', to: ep.address } },
      ]);
    }
  }

  /**
   * Service chain → endpoint chains (JUMPS[i] goes to ENDPOINTS[i]'s), after FIRST: affinity
   * checks first, then the probability ladder.
   */
  private dispatchRules(sp: ServicePort, endpoints: Endpoint[], jumps: JumpTarget[], first: Rule | undefined): Rule[] {
    const rules: Rule[] = first ? [first] : [];
    // Comments are off in large clusters: no text is built for them there.
    const large = this.largeCluster;
    if (sp.sessionAffinity) {
      for (let i = 0; i < endpoints.length; i++) {
        const ep = endpoints[i]!;
        const jump = jumps[i]!;
        const recent: Match = {
          kind: 'recent',
          name: jump.chain,
          action: 'rcheck',
          seconds: sp.sessionAffinity.timeoutSeconds,
          reap: true,
        };
        const m: Match[] = large ? [recent] : [comment(IPT_COMMENT.endpoint(sp.displayName, ep.address)), recent];
        rules.push({ matches: m, target: jump });
      }
    }
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[i]!;
      const more = i < endpoints.length - 1;
      let m: Match[];
      if (large) m = more ? statisticOnly(endpoints.length - i) : NO_MATCHES;
      else {
        const c = comment(IPT_COMMENT.endpoint(sp.displayName, ep.address));
        m = more ? [c, statistic(endpoints.length - i)] : [c];
      }
      rules.push({ matches: m, target: jumps[i]! });
    }
    return rules;
  }
}

export function compileIptables(model: ProxyModel, opts: IptablesCompileOptions = {}): IptablesRuleset {
  return new Compiler(model).compile(opts);
}
