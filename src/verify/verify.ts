// `ktables verify`: build the lab, apply the compiled rules to its node with the same code as
// `apply --netns`, send real connections from a pod, the node and outside to every entry point,
// and hold what happened against what the tracer predicts for the same packet (and, for
// kube-proxy's conformance flows, against kube-proxy's own expectation).
import type { ProxyModel } from '../model/types.js';
import { applyRules, type NftSource } from '../apply/execute.js';
import { modelSource } from '../apply/sources.js';
import { forgetTarget } from '../apply/state.js';
import type { System } from '../apply/system.js';
import { requireRoot } from '../apply/system.js';
import { IptablesTracer } from '../trace/iptables.js';
import { NftablesTracer } from '../trace/nftables.js';
import type { TracePacket, TraceProtocol, TraceResult } from '../trace/packet.js';
import { serviceScenarios } from '../trace/scenarios.js';
import { cidrContains, familyOf, isLoopback, parseCIDR, parseIP, type Family } from '../util/ip.js';
import type { Attempt, Binding, ProbeSpec, Proto, Role } from './agent.js';
import { expectFromFlow, expectFromTrace, mismatches, observe, triesFor, type Expectation, type Observation } from './classify.js';
import { Lab, type LabSpec, type Place } from './lab.js';
import { runProbes, type PlacedProbe } from './probe.js';

/** A packet to send, in kube-proxy's conformance flow format. */
export interface Flow {
  name?: string;
  sourceIP: string;
  destIP: string;
  destPort: number;
  protocol?: string;
  /** kube-proxy's expected verdict, when known: endpoints joined by ", ", DROP, REJECT, ACCEPT or "". */
  output?: string;
  masq?: boolean;
}

export interface VerifyInput {
  model: ProxyModel;
  mode: 'iptables' | 'nftables';
  /** Probe these packets instead of every entry point from a pod, the node and outside. */
  flows?: Flow[];
  keep?: boolean;
  /** Per connection attempt. */
  timeoutMs?: number;
  say?: (line: string) => void;
}

export interface VerifyRow {
  service?: string;
  entry: string;
  from: string;
  packet: TracePacket;
  place: Place;
  predicted?: TraceResult;
  /** The tracer could not answer (a rule it does not understand). */
  traceError?: string;
  expectation?: Expectation;
  flow?: { output: string; masq: boolean; problems: string[] };
  observation: Observation;
  /** Against the trace. */
  problems: string[];
  ok: boolean;
}

export interface VerifyReport {
  mode: 'iptables' | 'nftables';
  family: Family;
  rows: VerifyRow[];
  notes: string[];
  ok: boolean;
  lab: { id: string; kept: boolean; help?: string };
  timings: { labMs: number; applyMs: number; probeMs: number; totalMs: number };
}

interface Planned {
  service?: string;
  entry: string;
  from: string;
  packet: TracePacket;
  place: Place;
  flow?: { output: string; masq: boolean };
}

/** Interface names on the node: what interface-based local detection matches pods by. */
function interfaces(model: ProxyModel): { pod: string; outside: string } {
  const d = model.node.localDetector;
  let pod = 'pods0';
  if (d.mode === 'BridgeInterface') pod = d.interfaceName;
  else if (d.mode === 'InterfaceNamePrefix') pod = d.interfacePrefix.length < 15 ? `${d.interfacePrefix}0` : d.interfacePrefix;
  return { pod, outside: pod.startsWith('eth') ? 'ext0' : 'eth0' };
}

function endpointIPs(model: ProxyModel): Set<string> {
  return new Set(model.servicePorts.flatMap((sp) => sp.endpoints.map((e) => e.ip)));
}

/** Where a source lives: the node (its addresses, loopback), the pods, or outside. */
function placeOf(src: string, model: ProxyModel, pods: Set<string>, podHint: boolean): Place {
  const ip = parseIP(src);
  if (!ip) return 'out';
  if (isLoopback(ip) || model.node.nodeIPs.includes(src)) return 'node';
  if (podHint || pods.has(src)) return 'pods';
  const d = model.node.localDetector;
  const cidrs = d.mode === 'ClusterCIDR' || d.mode === 'NodeCIDR' ? d.cidrs : [];
  return cidrs.some((c) => {
    const p = parseCIDR(c);
    return !!p && cidrContains(p, ip);
  })
    ? 'pods'
    : 'out';
}

function plan(input: VerifyInput, ifs: { pod: string; outside: string }): { planned: Planned[]; notes: string[] } {
  const { model } = input;
  const pods = endpointIPs(model);
  const notes: string[] = [];
  const planned: Planned[] = [];
  const withPlace = (p: Omit<Planned, 'place'>, podHint: boolean): Planned => {
    const place = placeOf(p.packet.src, model, pods, podHint);
    const packet: TracePacket = { ...p.packet };
    delete packet.inInterface;
    if (place !== 'node') packet.inInterface = place === 'pods' ? ifs.pod : ifs.outside;
    return { ...p, packet, place };
  };
  if (input.flows) {
    input.flows.forEach((f, i) => {
      const protocol = (f.protocol ?? 'TCP').toLowerCase() as TraceProtocol;
      const packet: TracePacket = { src: f.sourceIP, dst: f.destIP, dport: f.destPort, protocol };
      const p: Omit<Planned, 'place'> = { entry: f.name ?? `flow ${i + 1}`, from: f.sourceIP, packet };
      if (f.output !== undefined) p.flow = { output: f.output, masq: f.masq ?? false };
      planned.push(withPlace(p, false));
    });
  } else {
    const s = serviceScenarios(model);
    notes.push(...s.notes);
    for (const sc of s.scenarios)
      planned.push(withPlace({ service: sc.service, entry: sc.destination, from: sc.from, packet: sc.packet }, sc.from.startsWith('pod ')));
  }
  const family = model.node.family;
  const wrong = planned.filter((p) => familyOf(p.packet.src) !== family || familyOf(p.packet.dst) !== family);
  if (wrong.length > 0) notes.push(`${wrong.length} packet(s) of the other IP family left out (this is the ${family} proxier)`);
  return { planned: planned.filter((p) => !wrong.includes(p)), notes };
}

const isNodeLocal = (dst: string, model: ProxyModel) => {
  const ip = parseIP(dst);
  return !!ip && (isLoopback(ip) || model.node.nodeIPs.includes(dst));
};

function labSpec(model: ProxyModel, planned: Planned[], ifs: { pod: string; outside: string }): LabSpec {
  const family = model.node.family;
  const binds: Record<Place, Map<string, Binding>> = { node: new Map(), pods: new Map(), out: new Map() };
  const add = (place: Place, ip: string, port: number, proto: string, role?: Role) => {
    const k = `${proto} ${ip} ${port}`;
    if (!binds[place].has(k)) binds[place].set(k, { ip, port, proto: proto as Proto, ...(role ? { role } : {}) });
  };
  // Endpoints on a node address are host-network pods: they answer on the node itself.
  for (const sp of model.servicePorts) {
    for (const e of sp.endpoints) {
      if (familyOf(e.ip) !== family) continue;
      if (isNodeLocal(e.ip, model)) add('node', e.ip, e.port, sp.protocol.toLowerCase(), 'endpoint');
      else add('pods', e.ip, e.port, sp.protocol.toLowerCase());
    }
  }
  const podIPs = new Set([...endpointIPs(model)].filter((ip) => familyOf(ip) === family && !isNodeLocal(ip, model)));
  const outsideIPs = new Set<string>();
  for (const p of planned) {
    if (p.place === 'pods') podIPs.add(p.packet.src);
    if (p.place === 'out') outsideIPs.add(p.packet.src);
    const local = isNodeLocal(p.packet.dst, model);
    if (local) add('node', p.packet.dst, p.packet.dport, p.packet.protocol);
    else if (!podIPs.has(p.packet.dst)) add('out', p.packet.dst, p.packet.dport, p.packet.protocol);
  }
  const role: Record<Place, Role> = { node: 'node', pods: 'endpoint', out: 'outside' };
  return {
    family,
    nodeIPs: model.node.nodeIPs,
    podIPs: [...podIPs],
    outsideIPs: [...outsideIPs],
    podInterface: ifs.pod,
    outsideInterface: ifs.outside,
    servers: (['pods', 'node', 'out'] as Place[]).map((place) => ({ place, role: role[place], bind: [...binds[place].values()] })),
  };
}

const RETRY_FACTOR = 3;

/** Why SCTP probes could not run in this lab. */
function sctpNotRun(lab: Lab): string {
  return lab.spec.family === 'ipv6'
    ? 'SCTP over IPv6 is not probed (the raw-socket helper speaks IPv4)'
    : 'SCTP needs python3 for its raw-socket helper (not installed)';
}

export async function runVerify(sys: System, input: VerifyInput): Promise<VerifyReport> {
  requireRoot('verify');
  const t0 = Date.now();
  const { model, mode } = input;
  const family = model.node.family;
  const timeoutMs = input.timeoutMs ?? 1000;
  const ifs = interfaces(model);
  const { planned, notes } = plan(input, ifs);
  const source = modelSource(model, mode);

  const lab = await Lab.create(sys, labSpec(model, planned, ifs), { keep: input.keep });
  const tLab = Date.now();
  try {
    input.say?.(`lab ${lab.id}: namespaces ${Object.values(lab.ns).join(', ')}`);
    const applied = await applyRules(sys, { netns: lab.ns.node }, source);
    // The node setting the rules were compiled for (no INVALID drop); the key exists only once
    // conntrack is loaded, which the rules just did.
    if (model.node.conntrackTcpBeLiberal)
      await sys.run('sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_tcp_be_liberal=1'], { netns: lab.ns.node });
    notes.push(...applied.notes);
    const tApply = Date.now();

    const tracer =
      mode === 'iptables'
        ? new IptablesTracer(applied.ruleset!, { family, addresses: model.node.nodeIPs })
        : new NftablesTracer((source as NftSource).ruleset!, { family, addresses: model.node.nodeIPs });

    const rows: VerifyRow[] = [];
    const probes: PlacedProbe[] = [];
    planned.forEach((p, id) => {
      const row: VerifyRow = {
        service: p.service,
        entry: p.entry,
        from: p.from,
        packet: p.packet,
        place: p.place,
        observation: { outcomes: [] },
        problems: [],
        ok: false,
      };
      if (p.service === undefined) delete row.service;
      try {
        row.predicted = tracer.trace(p.packet);
        row.expectation = expectFromTrace(row.predicted);
      } catch (e) {
        row.traceError = e instanceof Error ? e.message : String(e);
      }
      const flowExpectation = p.flow ? expectFromFlow(p.flow.output, p.flow.masq) : undefined;
      if (p.flow) row.flow = { ...p.flow, problems: [] };
      rows.push(row);
      const tries = Math.max(row.expectation ? triesFor(row.expectation) : 1, flowExpectation ? triesFor(flowExpectation) : 1);
      const until = [...new Set([...(row.expectation?.mustSee ?? []), ...(flowExpectation?.mustSee ?? [])])];
      const spec: ProbeSpec = {
        id,
        proto: p.packet.protocol as Proto,
        src: p.packet.src,
        dst: p.packet.dst,
        port: p.packet.dport,
        tries,
        until,
      };
      probes.push({ place: p.place, spec });
    });

    const judge = (pr: PlacedProbe, attempts: Attempt[] | undefined) => {
      const row = rows[pr.spec.id]!;
      if (!attempts) {
        row.observation = { outcomes: [], notRun: sctpNotRun(lab) };
        row.ok = true;
        return;
      }
      row.observation = observe(attempts, row.packet.src);
      row.problems = row.expectation ? mismatches(row.observation, row.expectation, pr.spec.tries) : [`no prediction: ${row.traceError}`];
      if (row.flow) row.flow.problems = mismatches(row.observation, expectFromFlow(row.flow.output, row.flow.masq), pr.spec.tries);
      row.ok = row.problems.length === 0 && (row.flow?.problems.length ?? 0) === 0 && !row.observation.error;
    };
    const first = await runProbes(sys, lab, probes, { timeoutMs });
    for (const pr of probes) judge(pr, first.get(pr.spec.id));
    // A connection that should have been answered but timed out may only have been slow (a
    // loaded CI machine): those get one more go with a longer timeout. The other way round,
    // an answer where a DROP was predicted, needs no second look.
    const slow = probes.filter((pr) => {
      const row = rows[pr.spec.id]!;
      return !row.ok && row.observation.outcomes.some((o) => o.kind === 'DROP') && row.expectation?.allowed.every((o) => o.kind !== 'DROP');
    });
    if (slow.length > 0) {
      const again = await runProbes(sys, lab, slow, { timeoutMs: timeoutMs * RETRY_FACTOR });
      for (const pr of slow) judge(pr, again.get(pr.spec.id));
      notes.push(
        `${slow.length} probe(s) timed out where an answer was predicted and were tried again with a ${timeoutMs * RETRY_FACTOR} ms timeout`,
      );
    }
    const tProbe = Date.now();

    if (input.keep) lab.keep();
    const help = input.keep ? lab.enterHelp() : undefined;
    return {
      mode,
      family,
      rows,
      notes,
      ok: rows.every((r) => r.ok),
      lab: help ? { id: lab.id, kept: true, help } : { id: lab.id, kept: false },
      timings: { labMs: tLab - t0, applyMs: tApply - tLab, probeMs: tProbe - tApply, totalMs: Date.now() - t0 },
    };
  } finally {
    if (!lab.kept) {
      await lab.teardown();
      forgetTarget(sys.host, { netns: lab.ns.node });
    }
  }
}
