// What a tracer is asked and what it answers, shared by every backend's tracer (iptables now,
// nftables later): the packet, the node it arrives at, and the outcome with its branches and
// the rules on the way. Nothing here knows about a particular rule language.
import { familyOf, isLoopback, parseIP, formatIP, type Family, type IP } from '../util/ip.js';

export type TraceProtocol = 'tcp' | 'udp' | 'sctp';

/** The first packet of a connection, as it arrives at (or leaves from) the node. */
export interface TracePacket {
  src: string;
  dst: string;
  dport: number;
  /** Only needed when a rule on the path matches the source port. */
  sport?: number;
  protocol: TraceProtocol;
  /** The interface a packet from outside arrives on (interface-based local detectors). */
  inInterface?: string;
  /** The interface a forwarded or locally sent packet leaves by, if a rule asks. */
  outInterface?: string;
}

/**
 * The node as netfilter sees it: which addresses are its own. Loopback (127.0.0.0/8, ::1) is
 * always local; `addresses` are the node IPs (either family; the other family is ignored).
 */
export interface TraceNode {
  family: Family;
  addresses: string[];
}

/** Where the packet enters netfilter: from a wire or a pod (PREROUTING) or from a local socket (OUTPUT). */
export type TraceEntry = 'PREROUTING' | 'OUTPUT';

/** What finally happened to one branch. */
export type BranchOutcome = 'DNAT' | 'DROP' | 'REJECT' | 'ACCEPT' | 'NONE';

/**
 * One step of the walk. `kind` rule: a rule whose matches all held; policy: a built-in chain's
 * policy decided; route: the routing decision between hooks.
 */
export interface TraceStep {
  kind: 'rule' | 'policy' | 'route';
  /** netfilter hook (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING). */
  hook: string;
  table: string;
  chain: string;
  /** 1-based position of the rule in its chain (what `iptables -L --line-numbers` shows). */
  position?: number;
  /** 1-based line in the rule text (the --rules file, or the compile output). */
  line?: number;
  /** The rule as written (iptables: `-A CHAIN ...`), or a description for policy/route steps. */
  text: string;
  /** The rule is not in the rule text: the tracer added it (kube-proxy's jump rules). */
  added?: boolean;
  /** Probability of reaching this step. */
  probability: number;
  /** Nesting: 0 on the trunk, +1 inside each branch a random match opened. */
  depth: number;
  /** What the step did, when it is worth saying (e.g. "mark 0x4000", "random 50%: matched"). */
  note?: string;
}

export interface TraceBranch {
  probability: number;
  outcome: BranchOutcome;
  /** The DNAT destination, as written in the rule (`10.180.0.4:80`, `[2001:db8::2]:80`). */
  dnat?: string;
  /** The packet left through MASQUERADE (kube-proxy's mark reached KUBE-POSTROUTING). */
  masquerade: boolean;
  /** SNAT --to-source, if one applied. */
  snat?: string;
  /** Where the packet went after routing: to a local socket, forwarded out, or nowhere. */
  delivery: 'local' | 'forward' | 'out' | 'dropped';
  /** Packet mark when the branch ended, hex. */
  mark: string;
  /** Affinity lists the connection was recorded in (`-m recent --set`). */
  recent: string[];
  /** Indices into TraceResult.path of this branch's steps, in order. */
  steps: number[];
}

export interface TraceEndpoint {
  address: string;
  probability: number;
  masquerade: boolean;
}

export interface TraceResult {
  packet: TracePacket;
  entry: TraceEntry;
  /**
   * The conformance `output` format: DNAT destinations joined by ", " in rule order, or
   * DROP / REJECT / ACCEPT, or "" when no rule decided anything.
   */
  verdict: string;
  /** Some branch that was not dropped was masqueraded. */
  masquerade: boolean;
  endpoints: TraceEndpoint[];
  branches: TraceBranch[];
  /** Every step of every branch once, in walk order (a branch's steps follow its fork). */
  path: TraceStep[];
  notes: string[];
  /**
   * Rules on the way the tracer could not judge (opaque parts of a node's rules, a source port
   * not given): the answer holds only if they do not match. Absent when there are none.
   */
  conditions?: string[];
}

/** The node's own addresses, for `-m addrtype LOCAL` and the routing decision. */
export class LocalAddresses {
  private readonly own = new Set<string>();
  constructor(readonly node: TraceNode) {
    for (const a of node.addresses) {
      const ip = parseIP(a);
      if (ip) this.own.add(formatIP(ip));
    }
  }
  has(ip: IP): boolean {
    if (ip.family !== this.node.family) return false;
    if (isLoopback(ip)) return true; // all of 127.0.0.0/8 is routed locally, as is ::1
    return this.own.has(formatIP(ip));
  }
}

/** A packet from the node's own addresses starts in OUTPUT; everything else in PREROUTING. */
export function entryOf(local: LocalAddresses, src: IP): TraceEntry {
  return local.has(src) ? 'OUTPUT' : 'PREROUTING';
}

/** Checks a packet against a family; returns a message when it does not fit. */
export function packetProblem(p: TracePacket, family: Family): string | undefined {
  for (const [what, ip] of [
    ['--src', p.src],
    ['--dst', p.dst],
  ] as const) {
    const f = familyOf(ip);
    if (!f) return `${what}: ${JSON.stringify(ip)} is not an IP address`;
    if (f !== family) return `${what} ${ip} is ${f === 'ipv4' ? 'IPv4' : 'IPv6'} but the rules are ${family === 'ipv4' ? 'IPv4' : 'IPv6'}`;
  }
  if (!Number.isInteger(p.dport) || p.dport < 1 || p.dport > 65535) return `--dport must be a port number from 1 to 65535 (got ${p.dport})`;
  if (p.sport !== undefined && (!Number.isInteger(p.sport) || p.sport < 1 || p.sport > 65535))
    return `--sport must be a port number from 1 to 65535 (got ${p.sport})`;
  return undefined;
}

/** Branch → the string it contributes to the verdict. */
function branchVerdict(b: TraceBranch): string {
  switch (b.outcome) {
    case 'DNAT':
      return b.dnat ?? '';
    case 'NONE':
      return '';
    default:
      return b.outcome;
  }
}

/**
 * The overall verdict: each branch's answer in walk order (which is rule order), without
 * repeats. A branch where nothing decided adds nothing when others did decide.
 */
export function joinVerdict(branches: TraceBranch[]): string {
  const seen: string[] = [];
  for (const b of branches) {
    const v = branchVerdict(b);
    if (v !== '' && !seen.includes(v)) seen.push(v);
  }
  return seen.join(', ');
}

/** Endpoints reached (DNAT branches not dropped afterwards), probabilities summed per address. */
export function endpointsOf(branches: TraceBranch[]): TraceEndpoint[] {
  const out: TraceEndpoint[] = [];
  for (const b of branches) {
    if (b.outcome !== 'DNAT' || b.dnat === undefined) continue;
    const e = out.find((x) => x.address === b.dnat);
    if (e) {
      e.probability += b.probability;
      e.masquerade ||= b.masquerade;
    } else out.push({ address: b.dnat, probability: b.probability, masquerade: b.masquerade });
  }
  return out;
}
