// Model → iptables rule set, one pass over the service ports in the order kube-proxy's
// syncProxyRules writes a full sync. Pure: no I/O, same model in, same rules out.
import type { Chain, IptablesRuleset, Match, Table, Target } from '../../ir/iptables.js';
import type { Endpoint, LocalDetector, NodeContext, ProxyModel, ServicePort } from '../../model/types.js';
import { categorizeEndpoints, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../../model/topology.js';
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
import { Shared, TableWriter, addRule, addrtype, comment, dport, dst, src } from './writer.js';
import { cidrContains, parseCIDR, parseIP } from '../../util/ip.js';

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

function sourceRangeContains(range: string, ip: string | undefined): boolean {
  if (!ip) return false;
  const c = parseCIDR(range);
  const p = parseIP(ip);
  return !!c && !!p && cidrContains(c, p);
}

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

  constructor(private readonly model: ProxyModel) {
    this.node = model.node;
    this.largeCluster = model.totalEndpoints > LARGE_CLUSTER_ENDPOINTS;
  }

  /** Endpoint rules lose their comments in large clusters. */
  private endpointComment(text: string): Match[] {
    return this.largeCluster ? [] : [comment(text)];
  }

  // An endpoint chain is named in the dispatch rules and again for the chain itself: its name
  // and the jump to it are made once.
  private readonly sepChains = new Map<Endpoint, { name: string; jump: Target }>();
  private sepChain(sp: ServicePort, ep: Endpoint): { name: string; jump: Target } {
    let sep = this.sepChains.get(ep);
    if (!sep) {
      const name = endpointChain(sp, ep);
      this.sepChains.set(ep, (sep = { name, jump: { kind: 'jump', chain: name } }));
    }
    return sep;
  }

  // Only a sync against a previous rule set (--previous-rules) needs the written chains' names.
  private trackActive = false;

  private declareNat(chain: string): Chain {
    if (this.trackActive) this.activeNat.add(chain);
    return this.nat.declare(chain);
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
    const sel = categorizeEndpoints(sp, { nodeName: n.nodeName, zone: n.zone, nodeHints: true });

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

    const noEndpoints = !hasEndpoints;
    const internalFilter: { comment: string; target: Target } = noEndpoints
      ? { comment: IPT_COMMENT.noEndpoints(name), target: this.verdict('REJECT') }
      : { comment: IPT_COMMENT.noLocalEndpoints(name), target: this.verdict('DROP') };
    const externalFilter = internalFilter;

    const toPort = (ip: string, port: number): Match[] => [...this.proto(p), dst(ip), dport(port)];

    // Cluster IP.
    if (hasInternalEndpoints) {
      this.nat.add(KUBE_SERVICES, [comment(IPT_COMMENT.clusterIP(name)), ...toPort(sp.clusterIP, sp.port)], this.jump(internalChain));
    } else {
      this.filter.add(KUBE_SERVICES, [comment(internalFilter.comment), ...toPort(sp.clusterIP, sp.port)], internalFilter.target);
    }

    // External IPs.
    for (const ip of sp.externalIPs) {
      if (hasEndpoints) this.nat.add(KUBE_SERVICES, [comment(IPT_COMMENT.externalIP(name)), ...toPort(ip, sp.port)], this.jump(extChain));
      if (!hasExternalEndpoints)
        this.filter.add(KUBE_EXTERNAL_SERVICES, [comment(externalFilter.comment), ...toPort(ip, sp.port)], externalFilter.target);
    }

    // LoadBalancer VIPs.
    for (const ip of sp.loadBalancerVIPs) {
      if (hasEndpoints)
        this.nat.add(KUBE_SERVICES, [comment(IPT_COMMENT.loadBalancerIP(name)), ...toPort(ip, sp.port)], this.jump(lbChain));
      if (usesFWChain) {
        this.filter.add(
          KUBE_PROXY_FIREWALL,
          [comment(IPT_COMMENT.notAccepted(name, fwChain)), ...toPort(ip, sp.port)],
          this.verdict('DROP'),
        );
      }
    }
    if (!hasExternalEndpoints) {
      for (const ip of sp.loadBalancerVIPs) {
        this.filter.add(KUBE_EXTERNAL_SERVICES, [comment(externalFilter.comment), ...toPort(ip, sp.port)], externalFilter.target);
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
              ...this.proto(p),
              dst('127.0.0.0/8'),
              dport(sp.nodePort),
              { kind: 'nfacct', name: NFACCT_LOCALHOST_NODEPORTS },
            ],
            this.jump(extChain),
          );
        }
        this.nat.add(KUBE_NODEPORTS, [comment(IPT_COMMENT.servicePort(name)), ...this.proto(p), dport(sp.nodePort)], this.jump(extChain));
      }
      if (!hasExternalEndpoints) {
        this.filter.add(
          KUBE_EXTERNAL_SERVICES,
          [comment(externalFilter.comment), addrtype('dst'), ...this.proto(p), dport(sp.nodePort)],
          externalFilter.target,
        );
      }
    }

    // Health check node port: accepted whether or not there are local endpoints.
    if (sp.healthCheckNodePort !== 0) {
      this.filter.add(
        KUBE_NODEPORTS,
        [comment(IPT_COMMENT.healthCheckNodePort(name)), ...this.proto('tcp'), dport(sp.healthCheckNodePort)],
        this.verdict('ACCEPT'),
      );
    }

    // Internal traffic: masquerade what does not come from a local pod.
    if (hasInternalEndpoints) {
      const base: Match[] = [comment(IPT_COMMENT.clusterIP(name)), ...toPort(sp.clusterIP, sp.port)];
      if (n.masqueradeAll) this.nat.add(internalChain, base, this.markMasq);
      else if (n.localDetector.mode !== 'None') this.nat.add(internalChain, [...base, ...ifNotLocal(n.localDetector)], this.markMasq);
    }

    // External traffic: every external destination enters the EXT chain.
    if (usesExtChain) {
      this.declareNat(extChain);
      if (!sp.externalPolicyLocal) {
        this.nat.add(extChain, [comment(IPT_COMMENT.masqueradeExternal(name))], this.markMasq);
      } else {
        if (n.localDetector.mode !== 'None') {
          this.nat.add(extChain, [comment(IPT_COMMENT.podExternal(name)), ...ifLocal(n.localDetector)], this.jump(clusterPolicyChain));
        }
        this.nat.add(extChain, [comment(IPT_COMMENT.masqueradeLocalExternal(name)), addrtype('src')], this.markMasq);
        this.nat.add(extChain, [comment(IPT_COMMENT.routeLocalExternal(name)), addrtype('src')], this.jump(clusterPolicyChain));
      }
      if (hasExternalEndpoints) this.nat.add(extChain, [], this.jump(externalPolicyChain));
    }

    // loadBalancerSourceRanges.
    if (usesFWChain) {
      this.declareNat(fwChain);
      const base = comment(IPT_COMMENT.loadBalancerIP(name));
      let allowFromNode = false;
      for (const range of sp.loadBalancerSourceRanges) {
        this.nat.add(fwChain, [base, src(range)], this.jump(extChain));
        if (sourceRangeContains(range, n.primaryNodeIP)) allowFromNode = true;
      }
      // A VIP bound locally loops node traffic back with the VIP as source: let it in.
      if (allowFromNode) for (const ip of sp.loadBalancerVIPs) this.nat.add(fwChain, [base, src(ip)], this.jump(extChain));
      this.nat.add(fwChain, [comment(IPT_COMMENT.otherDropped(name))]);
    }

    if (usesClusterPolicyChain) this.dispatch(sp, this.declareNat(clusterPolicyChain), sel.clusterEndpoints);
    if (usesLocalPolicyChain) this.dispatch(sp, this.declareNat(localPolicyChain), sel.localEndpoints);

    const sepComment = this.endpointComment(IPT_COMMENT.servicePort(name));
    for (const ep of sel.allReachable) {
      const { name: chain } = this.sepChain(sp, ep);
      const sep = this.declareNat(chain);
      const c = sepComment;
      // Hairpin: an endpoint reaching itself through the service must be masqueraded.
      addRule(sep, [...c, src(ep.ip)], this.markMasq);
      const affinity: Match[] = sp.sessionAffinity ? [{ kind: 'recent', name: chain, action: 'set' }] : [];
      const dnat: Match[] = c.length === 0 && affinity.length === 0 ? this.shared.frozenProto(p) : [...c, ...affinity, ...this.proto(p)];
      addRule(sep, dnat, { kind: 'DNAT', to: ep.address });
    }
  }

  /** Service chain → endpoint chains: affinity checks first, then the probability ladder. */
  private dispatch(sp: ServicePort, chain: Chain, endpoints: Endpoint[]): void {
    if (sp.sessionAffinity) {
      for (const ep of endpoints) {
        const sep = this.sepChain(sp, ep);
        addRule(
          chain,
          [
            ...this.endpointComment(IPT_COMMENT.endpoint(sp.displayName, ep.address)),
            { kind: 'recent', name: sep.name, action: 'rcheck', seconds: sp.sessionAffinity.timeoutSeconds, reap: true },
          ],
          sep.jump,
        );
      }
    }
    // Comments are off in large clusters: no text is built for them there.
    const large = this.largeCluster;
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[i]!;
      const more = i < endpoints.length - 1;
      let m: Match[];
      if (large) m = more ? statisticOnly(endpoints.length - i) : NO_MATCHES;
      else {
        m = [comment(IPT_COMMENT.endpoint(sp.displayName, ep.address))];
        if (more) m.push(statistic(endpoints.length - i));
      }
      addRule(chain, m, this.sepChain(sp, ep).jump);
    }
  }
}

export function compileIptables(model: ProxyModel, opts: IptablesCompileOptions = {}): IptablesRuleset {
  return new Compiler(model).compile(opts);
}
