// The part of kube-proxy's table that does not depend on Services: base chains and their
// priorities, the jumps out of them, masquerading, the ClusterIP range check, the
// "no endpoints" reject helper, and the declarations of every shared set and map.
import type { BaseChain, Expr, KeyPart, L3 } from '../../ir/nftables.js';
import type { NodeContext } from '../../model/types.js';
import { type TableBuilder, addr, anonSet, ctNew, fibLocal, jump, lookup } from './builder.js';
import {
  CLUSTER_IPS_CHECK_CHAIN,
  CLUSTER_IPS_SET,
  FIREWALL_CHECK_CHAIN,
  FIREWALL_IPS_MAP,
  HAIRPIN_SET,
  LOCALHOST_NODEPORT_REJECT_MAP,
  MARK_MASQ_CHAIN,
  MASQUERADING_CHAIN,
  NODEPORT_ENDPOINTS_CHECK_CHAIN,
  NODEPORT_IPS_SET,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  REJECT_CHAIN,
  SERVICE_ENDPOINTS_CHECK_CHAIN,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
  SERVICES_CHAIN,
  localhostNodePortRejectChain,
  localhostNodePortRejectCounter,
} from '../../kubeproxy/nftables-names.js';

// Priorities as knftables prints them: dstnat-10 = -110, filter = 0, dstnat = -100, srcnat = 100.
const BASE_CHAINS: [string, BaseChain][] = [
  ['filter-prerouting-pre-dnat', { type: 'filter', hook: 'prerouting', priority: -110 }],
  ['filter-output-pre-dnat', { type: 'filter', hook: 'output', priority: -110 }],
  ['filter-input', { type: 'filter', hook: 'input', priority: 0 }],
  ['filter-forward', { type: 'filter', hook: 'forward', priority: 0 }],
  ['filter-output', { type: 'filter', hook: 'output', priority: 0 }],
  ['nat-prerouting', { type: 'nat', hook: 'prerouting', priority: -100 }],
  ['nat-output', { type: 'nat', hook: 'output', priority: -100 }],
  ['nat-postrouting', { type: 'nat', hook: 'postrouting', priority: 100 }],
];

/** [target chain, base chain, only for new connections]: the order decides rule order per base chain. */
const JUMPS: [string, string, boolean][] = [
  [NODEPORT_ENDPOINTS_CHECK_CHAIN, 'filter-input', true],
  [SERVICE_ENDPOINTS_CHECK_CHAIN, 'filter-input', true],
  [SERVICE_ENDPOINTS_CHECK_CHAIN, 'filter-forward', true],
  [SERVICE_ENDPOINTS_CHECK_CHAIN, 'filter-output', true],
  [FIREWALL_CHECK_CHAIN, 'filter-prerouting-pre-dnat', true],
  [FIREWALL_CHECK_CHAIN, 'filter-output-pre-dnat', true],
  [SERVICES_CHAIN, 'nat-output', false],
  [SERVICES_CHAIN, 'nat-prerouting', false],
  [MASQUERADING_CHAIN, 'nat-postrouting', false],
  [CLUSTER_IPS_CHECK_CHAIN, 'filter-forward', true],
  [CLUSTER_IPS_CHECK_CHAIN, 'filter-output', true],
];

export const l3Of = (node: NodeContext): L3 => (node.family === 'ipv4' ? 'ip' : 'ip6');
export const addrTypeOf = (node: NodeContext): string => (node.family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr');

/** `ip daddr . meta l4proto . th dport`: the key of every service-IP map. */
const ipProtoPort = (l3: L3): KeyPart[] => [{ kind: 'addr', l3, field: 'daddr' }, { kind: 'l4proto' }, { kind: 'thDport' }];
const protoPort: KeyPart[] = [{ kind: 'l4proto' }, { kind: 'thDport' }];

/** kube-proxy's masquerade statement: a jump before 1.36, the mark set inline since. */
export function masqueradeStatement(node: NodeContext): { exprs: Expr[]; verdict?: ReturnType<typeof jump> } {
  return node.release.nftInlineMasqueradeMark
    ? { exprs: [{ kind: 'markSet', op: 'or', value: node.masqueradeMark }] }
    : { exprs: [], verdict: jump(MARK_MASQ_CHAIN) };
}

export function addFixedObjects(b: TableBuilder, node: NodeContext, ifNotLocal: Expr | undefined): void {
  const r = node.release;
  const l3 = l3Of(node);
  const addrType = addrTypeOf(node);
  const mark = node.masqueradeMark;
  const ipServiceMap = { kind: 'map' as const, keyType: [addrType, 'inet_proto', 'inet_service'], dataType: 'verdict' };
  const portServiceMap = { kind: 'map' as const, keyType: ['inet_proto', 'inet_service'], dataType: 'verdict' };
  // Loopback never takes NodePorts in nftables mode (no route_localnet).
  const noLocalhost: Expr = l3 === 'ip' ? addr(l3, 'daddr', '127.0.0.0/8', true) : addr(l3, 'daddr', '::1', true);
  const matchAll = node.nodePorts.matchAll;

  for (const [name, base] of BASE_CHAINS) b.chain(name, { base });
  for (const [target, from, onlyNew] of JUMPS) {
    b.chain(target);
    b.rule(from, onlyNew ? [ctNew] : [], jump(target));
  }
  for (const name of [SERVICES_CHAIN, CLUSTER_IPS_CHECK_CHAIN, MASQUERADING_CHAIN]) b.chain(name);
  if (!r.nftInlineMasqueradeMark) b.chain(MARK_MASQ_CHAIN);

  // Marked packets are masqueraded once, on the way out.
  if (r.nftInlineMasqueradeMark) {
    b.rule(
      MASQUERADING_CHAIN,
      [
        { kind: 'markMatch', mask: mark, value: '0', negate: true },
        { kind: 'markSet', op: 'xor', value: mark },
      ],
      { kind: 'masquerade', fullyRandom: true },
    );
  } else {
    b.rule(MARK_MASQ_CHAIN, [{ kind: 'markSet', op: 'or', value: mark }]);
    b.rule(MASQUERADING_CHAIN, [{ kind: 'markMatch', mask: mark, value: '0' }], { kind: 'return' });
    b.rule(MASQUERADING_CHAIN, [{ kind: 'markSet', op: 'xor', value: mark }]);
    b.rule(MASQUERADING_CHAIN, [], { kind: 'masquerade', fullyRandom: true });
  }
  if (r.nftHairpinSet) {
    // A pod that reaches itself through its Service: DNATed back to its own address.
    b.set({
      kind: 'set',
      name: HAIRPIN_SET,
      keyType: [addrType, addrType, 'inet_proto', 'inet_service'],
      comment: 'service hairpin connections',
    });
    const hairpinKey: KeyPart[] = [
      { kind: 'addr', l3, field: 'saddr' },
      { kind: 'addr', l3, field: 'daddr' },
      { kind: 'l4proto' },
      { kind: 'thDport' },
    ];
    b.rule(
      MASQUERADING_CHAIN,
      [
        { kind: 'ctStatus', statuses: ['dnat'] },
        { kind: 'concatLookup', key: hairpinKey, set: HAIRPIN_SET },
      ],
      { kind: 'masquerade', fullyRandom: true },
    );
  }

  b.set({ kind: 'set', name: CLUSTER_IPS_SET, keyType: [addrType], comment: 'Active ClusterIPs' });
  b.rule(
    CLUSTER_IPS_CHECK_CHAIN,
    [lookup(l3, 'daddr', CLUSTER_IPS_SET)],
    { kind: 'reject' },
    'Reject traffic to invalid ports of ClusterIPs',
  );
  if (node.serviceCIDRs.length > 0) {
    // kube-proxy joins the CIDRs into one word with bare commas.
    b.rule(
      CLUSTER_IPS_CHECK_CHAIN,
      [anonSet(l3, 'daddr', node.serviceCIDRs, ',')],
      { kind: 'drop' },
      'Drop traffic to unallocated ClusterIPs',
    );
  }

  // kube-proxy adds and then deletes nodeport-ips when every local address takes NodePorts.
  if (!matchAll) {
    b.set({ kind: 'set', name: NODEPORT_IPS_SET, keyType: [addrType], comment: 'IPs that accept NodePort traffic' });
    for (const ip of node.nodePorts.addresses) {
      if (ip === '::1' || (l3 === 'ip' && ip.startsWith('127.'))) continue;
      b.element(NODEPORT_IPS_SET, [ip]);
    }
  }

  b.set({ ...ipServiceMap, name: NO_ENDPOINT_SERVICES_MAP, comment: 'vmap to drop or reject packets to services with no endpoints' });
  b.set({
    ...portServiceMap,
    name: NO_ENDPOINT_NODEPORTS_MAP,
    comment: 'vmap to drop or reject packets to service nodeports with no endpoints',
  });
  b.chain(REJECT_CHAIN, { comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports' });
  b.rule(REJECT_CHAIN, [], { kind: 'reject' });
  b.rule(SERVICE_ENDPOINTS_CHECK_CHAIN, [], { kind: 'vmap', key: ipProtoPort(l3), map: NO_ENDPOINT_SERVICES_MAP });
  const nodePortDest: Expr[] = matchAll ? [noLocalhost] : [lookup(l3, 'daddr', NODEPORT_IPS_SET)];
  b.rule(NODEPORT_ENDPOINTS_CHECK_CHAIN, nodePortDest, { kind: 'vmap', key: protoPort, map: NO_ENDPOINT_NODEPORTS_MAP });

  // kube-proxy 1.37 with its KubeProxyNFTablesLocalhostNodePorts gate: count and reject the
  // localhost NodePorts it does not serve.
  if (node.localhostNodePortRejects.length > 0) {
    b.set({ ...portServiceMap, name: LOCALHOST_NODEPORT_REJECT_MAP, comment: 'localhost NodePorts rejected by kube-proxy' });
    for (const proto of node.localhostNodePortRejects) {
      b.counter(localhostNodePortRejectCounter(proto));
      b.chain(localhostNodePortRejectChain(proto));
      b.rule(
        localhostNodePortRejectChain(proto),
        [{ kind: 'counter', text: `counter name ${JSON.stringify(localhostNodePortRejectCounter(proto))}` }],
        { kind: 'reject' },
      );
    }
    const localhost: Expr = l3 === 'ip' ? addr(l3, 'daddr', '127.0.0.0/8') : addr(l3, 'daddr', '::1');
    b.rule(NODEPORT_ENDPOINTS_CHECK_CHAIN, [localhost], { kind: 'vmap', key: protoPort, map: LOCALHOST_NODEPORT_REJECT_MAP });
  }

  b.set({ ...ipServiceMap, name: FIREWALL_IPS_MAP, comment: 'destinations that are subject to LoadBalancerSourceRanges' });
  b.chain(FIREWALL_CHECK_CHAIN);
  b.rule(FIREWALL_CHECK_CHAIN, [], { kind: 'vmap', key: ipProtoPort(l3), map: FIREWALL_IPS_MAP });

  b.set({ ...ipServiceMap, name: SERVICE_IPS_MAP, comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic' });
  b.set({ ...portServiceMap, name: SERVICE_NODEPORTS_MAP, comment: 'NodePort traffic' });
  if (r.nftServicesClusterIPMasquerade) {
    const masq = masqueradeStatement(node);
    const toClusterIP = lookup(l3, 'daddr', CLUSTER_IPS_SET);
    if (node.masqueradeAll) b.rule(SERVICES_CHAIN, [toClusterIP, ...masq.exprs], masq.verdict, 'masquerade all clusterIP traffic');
    else if (ifNotLocal)
      b.rule(SERVICES_CHAIN, [toClusterIP, ifNotLocal, ...masq.exprs], masq.verdict, 'masquerade clusterIP traffic from outside cluster');
  }
  b.rule(SERVICES_CHAIN, [], { kind: 'vmap', key: ipProtoPort(l3), map: SERVICE_IPS_MAP });
  b.rule(SERVICES_CHAIN, matchAll ? [fibLocal('daddr'), noLocalhost] : nodePortDest, {
    kind: 'vmap',
    key: protoPort,
    map: SERVICE_NODEPORTS_MAP,
  });
}
