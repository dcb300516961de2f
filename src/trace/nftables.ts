// Walks a packet through nft rules the way the kernel does: the base chains of each netfilter
// hook in priority order, a routing decision after the prerouting (or output) hook, and the
// postrouting hook for packets that leave. A packet from one of the node's own addresses starts
// in the output hook and, if its destination is local, loops back through prerouting and input
// without consulting the nat chains again (its NAT binding already exists). Every connection is
// new (first packet). `numgen random` opens one branch per entry; each branch is walked to its
// end, so the result lists every endpoint with its probability.
//
// Only tables named kube-proxy are walked: other tables on a node (iptables-nft's, a CNI's) are
// not kube-proxy's rules and are listed in the notes as ignored.
//
// A rule on the path with a part the tracer cannot judge (an expression the reader kept as
// written, a set or chain the listing does not hold, a source port the packet does not say) never
// stops the walk, as in the iptables tracer: a rule whose other matches fail needs nothing more;
// otherwise the answer is conditional and says which rule and what it would need to know
// (TraceResult.conditions).
import { RuleError, UsageError } from '../errors.js';
import type { Chain, Element, Expr, Hook, KeyPart, NftRuleset, NftSet, Rule, SimpleVerdict, Table, Verdict } from '../ir/nftables.js';
import { KUBE_PROXY_TABLE } from '../ir/nftables.js';
import { formatRule, formatSimpleVerdict, layOutNftables } from '../emit/nftables.js';
import { SOURCE_LINES, readFromText, type RuleLines } from '../ir/lines.js';
import { addressMatcher, formatIP, joinHostPort, parseIP, type Family, type IP } from '../util/ip.js';
import {
  LocalAddresses,
  endpointsOf,
  entryOf,
  joinVerdict,
  packetProblem,
  type BranchOutcome,
  type TraceBranch,
  type TraceNode,
  type TracePacket,
  type TraceResult,
  type TraceStep,
} from './packet.js';

const PROTO_NUMBERS: Record<string, string> = { '6': 'tcp', '17': 'udp', '132': 'sctp' };

function protoName(p: string): string {
  return PROTO_NUMBERS[p] ?? p;
}

/** The elements of one set or map, indexed for lookups by packet values. */
class SetIndex {
  private readonly exact = new Map<string, Element>();
  private readonly intervals: { parts: ((v: string) => boolean)[]; el: Element }[] = [];

  constructor(readonly set: NftSet) {
    for (const el of set.elements) {
      const parts = el.key.map((k, i) => this.part(k, set.keyType[i] ?? ''));
      if (parts.every((p) => typeof p === 'string')) this.exact.set((parts as string[]).join(' . '), el);
      else this.intervals.push({ parts: parts.map((p) => (typeof p === 'string' ? (v: string) => v === p : p)), el });
    }
  }

  /** A key part as a canonical string, or a predicate for intervals (CIDRs, ranges). */
  private part(text: string, type: string): string | ((v: string) => boolean) {
    if (type === 'ipv4_addr' || type === 'ipv6_addr') {
      if (text.includes('/') || text.includes('-')) {
        const m = addressTest(text);
        return (v) => m(parseIP(v)!);
      }
      const ip = parseIP(text);
      return ip ? formatIP(ip) : text;
    }
    if (type === 'inet_proto') return protoName(text);
    if (type === 'inet_service' && text.includes('-')) {
      const [lo, hi] = text.split('-').map(Number);
      return (v) => Number(v) >= lo! && Number(v) <= hi!;
    }
    return text;
  }

  lookup(values: string[]): Element | undefined {
    const hit = this.exact.get(values.join(' . '));
    if (hit) return hit;
    return this.intervals.find((i) => i.parts.every((p, k) => p(values[k]!)))?.el;
  }
}

/** An address, CIDR or range as written in a rule, as a predicate on addresses. */
function addressTest(text: string): (ip: IP) => boolean {
  const m = addressMatcher(text);
  if (!m) throw new RuleError(`not an address, CIDR or address range: ${text}`);
  return m;
}

/**
 * Words of an unread phrase that decide where the packet goes or change what the walk follows
 * (a verdict, NAT, the packet mark, conntrack itself). Unread text without them (`meta nftrace
 * set 1`, `ct helper set "ftp"`, `log`, a match with no verdict after it) decides nothing.
 */
const DECIDING_WORDS = new Set([
  'accept',
  'drop',
  'reject',
  'return',
  'jump',
  'goto',
  'queue',
  'vmap',
  'dnat',
  'snat',
  'masquerade',
  'redirect',
  'tproxy',
  'synproxy',
  'notrack',
]);

function decides(text: string): boolean {
  const words = text.replace(/"(?:[^"\\]|\\.)*"/g, ' ').split(/\s+/);
  return words.some((w, k) => DECIDING_WORDS.has(w) || (w === 'mark' && words[k + 1] === 'set' && words[k - 1] !== 'ct'));
}

/**
 * Whether a rule, if it matched, could change the packet's way or what the walk follows; one
 * that cannot (a counter, a log, an unread statement such as `ct helper set`) needs no answer.
 */
function couldDecide(rule: Rule): boolean {
  if (rule.verdict && rule.verdict.kind !== 'continue') return true;
  return rule.exprs.some((e) => e.kind === 'markSet' || e.kind === 'setUpdate' || (e.kind === 'other' && decides(e.text)));
}

/** A part of a rule the walk cannot judge; the rule is traced as not matching. */
class Unjudged {
  constructor(readonly what: string) {}
}

function markNumber(text: string): number {
  const n = text.startsWith('0x') ? Number.parseInt(text.slice(2), 16) : Number(text);
  if (!Number.isFinite(n)) throw new RuleError(`not a mark value: ${text}`);
  return n >>> 0;
}

/** The tables a packet of this family passes, indexed. */
interface Indexed {
  table: Table;
  label: string; // "ip kube-proxy"
  chains: Map<string, Chain>;
  sets: Map<string, SetIndex>;
}

interface HookChain {
  t: Indexed;
  chain: Chain;
}

const MAX_BRANCHES = 100_000;

/** Interfaces assumed when a rule asks and the packet does not say: the iptables tracer's (the README names them). */
const DEFAULT_INTERFACES = { iifname: 'eth0', oifname: 'eth0' } as const;

/**
 * Expressions that only test the packet. An interface test that needs an assumed interface is
 * judged after the rule's other tests up to the next expression outside this set, so a rule
 * that fails anyway (`iifname "virbr0" udp dport 68` for a TCP packet) assumes nothing.
 */
const PURE_TESTS = new Set<Expr['kind']>([
  'ctState',
  'addr',
  'lookup',
  'fibLocal',
  'l4proto',
  'port',
  'markMatch',
  'counter',
  'ctStatus',
  'concatLookup',
]);

const HOOK_NAMES: Record<string, string> = {
  prerouting: 'PREROUTING',
  input: 'INPUT',
  forward: 'FORWARD',
  output: 'OUTPUT',
  postrouting: 'POSTROUTING',
};

/** What a chain evaluation ended in. */
type Outcome = { kind: 'return' | 'accept' | 'drop' | 'reject' };

interface Decision {
  mod: number;
}

/** The packet as it changes on its way. */
interface State {
  src: IP;
  dst: IP;
  dport: number;
  mark: number;
  dnat?: string;
  masquerade: boolean;
  accepted: boolean; // an explicit accept verdict decided somewhere
  iif: string | undefined;
  updates: string[];
}

interface RawStep extends Omit<TraceStep, 'probability' | 'depth'> {
  level: number; // decisions taken before this step
}

interface Run {
  steps: RawStep[];
  decisions: Decision[];
  branch: Omit<TraceBranch, 'probability' | 'steps'>;
}

class Walker {
  readonly steps: RawStep[] = [];
  readonly decisions: Decision[] = [];
  private readonly state: State;
  private hook = '';
  private baseType = '';
  private depth = 0;
  /** Sent by the node itself (the walk starts at output). */
  private localOrigin = false;

  constructor(
    private readonly hooks: Map<string, HookChain[]>,
    private readonly packet: TracePacket,
    private readonly local: LocalAddresses,
    private readonly choices: number[],
    private readonly notes: Set<string>,
    private readonly conditions: Set<string>,
    private readonly recordPath: boolean,
    private readonly lines: RuleLines,
  ) {
    this.state = {
      src: parseIP(packet.src)!,
      dst: parseIP(packet.dst)!,
      dport: packet.dport,
      mark: 0,
      masquerade: false,
      accepted: false,
      iif: packet.inInterface,
      updates: [],
    };
  }

  walk(): Run {
    const s = this.state;
    let delivery: TraceBranch['delivery'];
    let dropped: Outcome | undefined;
    if (entryOf(this.local, s.src) === 'OUTPUT') {
      this.localOrigin = true;
      s.iif = '';
      dropped = this.runHook('output', true);
      if (!dropped) {
        const toSelf = this.local.has(s.dst);
        this.route(
          toSelf
            ? `to local address ${formatIP(s.dst)}: out through lo and back in (NAT already decided)`
            : `to ${formatIP(s.dst)}, not a local address: out`,
        );
        dropped = this.runHook('postrouting', true);
        if (!dropped && toSelf) {
          // Back in through loopback, past the filter chains only.
          s.iif = 'lo';
          dropped = this.runHook('prerouting', false);
          if (!dropped) dropped = this.runHook('input', false);
        }
        delivery = toSelf ? 'local' : 'out';
      }
    } else {
      dropped = this.runHook('prerouting', true);
      if (!dropped) {
        if (this.local.has(s.dst)) {
          this.route(`to local address ${formatIP(s.dst)}: input`);
          dropped = this.runHook('input', true);
          delivery = 'local';
        } else {
          this.route(`to ${formatIP(s.dst)}, not a local address: forward`);
          dropped = this.runHook('forward', true);
          if (!dropped) dropped = this.runHook('postrouting', true);
          delivery = 'forward';
        }
      }
    }
    let outcome: BranchOutcome;
    if (dropped) {
      outcome = dropped.kind === 'reject' ? 'REJECT' : 'DROP';
      delivery = 'dropped';
    } else outcome = s.dnat !== undefined ? 'DNAT' : s.accepted ? 'ACCEPT' : 'NONE';
    const branch: Run['branch'] = {
      outcome,
      masquerade: s.masquerade && !dropped,
      delivery: delivery!,
      mark: `0x${s.mark.toString(16)}`,
      recent: s.updates,
    };
    if (s.dnat !== undefined) branch.dnat = s.dnat;
    return { steps: this.steps, decisions: this.decisions, branch };
  }

  private route(text: string): void {
    if (this.recordPath) this.steps.push({ kind: 'route', hook: 'routing', table: '', chain: '', text, level: this.decisions.length });
  }

  /** Runs every base chain of a hook in priority order; returns the outcome if the packet died. */
  private runHook(hook: Hook, withNat: boolean): Outcome | undefined {
    this.hook = HOOK_NAMES[hook] ?? hook;
    for (const { t, chain } of this.hooks.get(hook) ?? []) {
      if (!withNat && chain.base!.type === 'nat') continue;
      this.baseType = chain.base!.type;
      const out = this.runChain(t, chain);
      if (out.kind === 'drop' || out.kind === 'reject') return out;
      // Falling off a base chain applies its policy; only a drop is worth a step.
      if (out.kind === 'return' && chain.base!.policy === 'drop') {
        this.step(t, chain, undefined, `policy drop of ${t.label} ${chain.name}`, 'policy');
        return { kind: 'drop' };
      }
    }
    return undefined;
  }

  private step(
    t: Indexed,
    chain: Chain,
    position: number | undefined,
    text: string,
    kind: TraceStep['kind'],
    note?: string,
    line?: number,
  ): void {
    if (!this.recordPath) return;
    const s: RawStep = { kind, hook: this.hook, table: t.label, chain: chain.name, text, level: this.decisions.length };
    if (position !== undefined) s.position = position;
    if (line !== undefined) s.line = line;
    if (note !== undefined) s.note = note;
    this.steps.push(s);
  }

  private runChain(t: Indexed, chain: Chain): Outcome {
    if (++this.depth > 64) throw new RuleError(`chain ${chain.name}: jumps nest deeper than 64 levels (a loop?)`);
    try {
      for (let i = 0; i < chain.rules.length; i++) {
        const rule = chain.rules[i]!;
        const notes: string[] = [];
        const matched = this.judged(t, chain, i, rule, () => this.matches(t, rule, notes, () => this.at(t, chain, i)));
        if (!matched) continue;
        let verdict: SimpleVerdict | Verdict | undefined = rule.verdict;
        if (verdict?.kind === 'vmap') {
          const values = verdict.key.map((k) => this.keyValue(k));
          const map = verdict.map;
          const el = this.judged(t, chain, i, rule, () => this.mapLookup(t, map, values));
          if (!el) continue; // no element: the rule does not decide
          notes.push(`@${verdict.map} { ${values.join(' . ')} } → ${el.value ? formatSimpleVerdict(el.value) : 'no value'}`);
          verdict = el.value;
        } else if (verdict?.kind === 'numgen') {
          const pick = this.choose(verdict.mod);
          const entry = verdict.entries.find((e) => e.index === pick);
          notes.push(`random ${pick + 1} of ${verdict.mod}${entry ? `: ${formatSimpleVerdict(entry.verdict)}` : ': no entry'}`);
          verdict = entry?.verdict;
        }
        if (this.recordPath)
          this.step(t, chain, i + 1, formatRule(rule), 'rule', notes.length ? notes.join('; ') : undefined, this.lines.rule(chain, i));
        const out = this.apply(t, chain, i, rule, verdict);
        if (out === 'next') continue;
        return out;
      }
      return { kind: 'return' };
    } finally {
      this.depth--;
    }
  }

  /**
   * Runs a test of rule I; a part it cannot judge makes the rule not match, and the answer
   * conditional when the rule could decide something.
   */
  private judged<T>(t: Indexed, chain: Chain, i: number, rule: Rule, test: () => T): T | undefined {
    try {
      return test();
    } catch (e) {
      if (!(e instanceof Unjudged)) throw e;
      if (couldDecide(rule))
        this.conditions.add(`${this.at(t, chain, i)} could match: ${e.what}; traced as not matching: ${formatRule(rule)}`);
      return undefined;
    }
  }

  /** A matched rule's verdict: 'next' to go on with the following rule. */
  private apply(t: Indexed, chain: Chain, i: number, rule: Rule, v: SimpleVerdict | Verdict | undefined): Outcome | 'next' {
    if (!v) return 'next';
    switch (v.kind) {
      case 'continue':
        return 'next';
      case 'return':
        return { kind: 'return' };
      case 'accept':
        this.state.accepted = true;
        return { kind: 'accept' };
      case 'drop':
        return { kind: 'drop' };
      case 'reject':
        return { kind: 'reject' };
      case 'jump':
      case 'goto': {
        const target = t.chains.get(v.chain);
        if (!target) {
          // A listing cut short: what the chain would do is not known.
          this.conditions.add(
            `${this.at(t, chain, i)} jumps to ${v.chain}, which is not in table ${t.label} of these rules: traced as if it returned: ${formatRule(rule)}`,
          );
          return v.kind === 'goto' ? { kind: 'return' } : 'next';
        }
        const out = this.runChain(t, target);
        if (out.kind !== 'return') return out;
        // After a goto, falling off the target's end returns past this chain.
        return v.kind === 'goto' ? out : 'next';
      }
      case 'dnatMap': {
        // kube-proxy 1.36+: the random pick and the DNAT in one statement.
        this.natOnly(chain, i);
        const pick = this.choose(v.mod);
        const entry = v.entries.find((e) => e.index === pick);
        if (!entry) return { kind: 'accept' }; // no element: nft leaves the packet as it is
        const ip = parseIP(entry.ip);
        if (!ip) throw new RuleError(`${this.where(chain, i)}: cannot read the DNAT address ${entry.ip}`);
        this.state.dst = ip;
        this.state.dport = entry.port;
        this.state.dnat = joinHostPort(formatIP(ip), entry.port);
        return { kind: 'accept' };
      }
      case 'dnat': {
        this.natOnly(chain, i);
        const to = v.to;
        const m = /^\[(.+)\]:([0-9]+)$/.exec(to) ?? /^([^:]+):([0-9]+)$/.exec(to);
        const ip = parseIP(m ? m[1]! : to);
        if (!ip) throw new RuleError(`${this.where(chain, i)}: cannot read the DNAT address ${to}`);
        this.state.dst = ip;
        if (m) this.state.dport = Number(m[2]);
        this.state.dnat = to;
        return { kind: 'accept' };
      }
      case 'masquerade':
        this.natOnly(chain, i);
        this.state.masquerade = true;
        return { kind: 'accept' };
      case 'vmap':
      case 'numgen':
        throw new RuleError(`${this.where(chain, i)}: a verdict map may not hold another verdict map`);
      case 'other':
        this.conditions.add(
          `${this.at(t, chain, i)} matches, but ktables does not model its verdict (${v.text}): traced as if the walk went on: ${formatRule(rule)}`,
        );
        return 'next';
    }
  }

  private natOnly(chain: Chain, i: number): void {
    // The kernel refuses NAT outside nat chains: a rule set that has it never loaded.
    if (this.baseType !== 'nat') throw new RuleError(`${this.where(chain, i)}: NAT reached from a ${this.baseType} chain`);
  }

  private where(chain: Chain, i: number): string {
    return `chain ${chain.name}${this.lineSuffix(chain, i)}`;
  }

  private lineSuffix(chain: Chain, i: number): string {
    const line = this.lines.rule(chain, i);
    return line === undefined ? '' : ` (line ${line})`;
  }

  /** Rule I of a chain as the iptables tracer names a rule: table, chain, position, line. */
  private at(t: Indexed, chain: Chain, i: number): string {
    return `${t.label} ${chain.name} #${i + 1}${this.lineSuffix(chain, i)}`;
  }

  private choose(mod: number): number {
    const k = this.decisions.length;
    this.decisions.push({ mod });
    return this.choices[k] ?? 0;
  }

  private keyValue(k: KeyPart): string {
    switch (k.kind) {
      case 'addr':
        return formatIP(k.field === 'saddr' ? this.state.src : this.state.dst);
      case 'l4proto':
        return this.packet.protocol;
      case 'thDport':
        return String(this.state.dport);
    }
  }

  private mapLookup(t: Indexed, name: string, values: string[]): Element | undefined {
    const set = t.sets.get(name);
    if (!set) throw new Unjudged(`set or map @${name} is not in table ${t.label} of these rules`);
    return set.lookup(values);
  }

  /**
   * Evaluates the expressions in order (statements take effect as they are reached). An unread
   * expression is reached only when everything before it matched: it holds the rest of the rule.
   */
  private matches(t: Indexed, rule: Rule, notes: string[], at: () => string): boolean {
    const s = this.state;
    let waiting: IfnameExpr[] | undefined;
    for (const e of rule.exprs) {
      if (e.kind === 'ifname' && this.interfaceName(e.dir) === undefined) {
        (waiting ??= []).push(e);
        continue;
      }
      if (waiting && !PURE_TESTS.has(e.kind)) {
        if (!this.assumedInterfaces(waiting, at)) return false;
        waiting = undefined;
      }
      try {
        if (!this.expr(t, e, s, notes)) return false;
      } catch (err) {
        // Something else is not known either (a source port): say what the interfaces were
        // taken to be as well, so one run names every missing fact; if the assumed interfaces
        // fail the rule, nothing more is needed.
        if (err instanceof Unjudged && waiting && !this.assumedInterfaces(waiting, at)) return false;
        throw err;
      }
    }
    return !waiting || this.assumedInterfaces(waiting, at);
  }

  /**
   * The interface netfilter shows a rule at this point of the walk: '' where the hook has none
   * (no input interface at output and postrouting, no output interface at prerouting and input),
   * lo for the node's own traffic to itself, undefined when the packet did not say.
   */
  private interfaceName(dir: IfnameExpr['dir']): string | undefined {
    if (dir === 'iifname') return this.hook === 'output' || this.hook === 'postrouting' ? '' : this.state.iif;
    if (this.hook === 'prerouting' || this.hook === 'input') return '';
    if (this.localOrigin && this.local.has(this.state.dst)) return 'lo';
    return this.packet.outInterface;
  }

  /** Interface tests judged with the default interfaces, each assumption said once. */
  private assumedInterfaces(tests: IfnameExpr[], at: () => string): boolean {
    for (const e of tests) {
      const name = DEFAULT_INTERFACES[e.dir];
      const flag = e.dir === 'iifname' ? 'in' : 'out';
      this.notes.add(`${at()} matches the ${flag}put interface: assumed ${name} (give --${flag}-interface)`);
      if (!ifnameHit(e, name)) return false;
    }
    return true;
  }

  private expr(t: Indexed, e: Expr, s: State, notes: string[]): boolean {
    const family = s.src.family;
    switch (e.kind) {
      case 'ctState':
        return e.states.includes('new') !== !!e.negate;
      case 'addr': {
        if ((e.l3 === 'ip') !== (family === 'ipv4')) return false;
        const ip = e.field === 'saddr' ? s.src : s.dst;
        const hit = e.values.some((v) => addressTest(v)(ip));
        return hit !== !!e.negate;
      }
      case 'lookup': {
        if ((e.l3 === 'ip') !== (family === 'ipv4')) return false;
        const ip = e.field === 'saddr' ? s.src : s.dst;
        return !!this.mapLookup(t, e.set, [formatIP(ip)]) !== !!e.negate;
      }
      case 'fibLocal':
        return this.local.has(e.field === 'saddr' ? s.src : s.dst) !== !!e.negate;
      case 'l4proto':
        return (protoName(e.protocol) === this.packet.protocol) !== !!e.negate;
      case 'port': {
        if (e.protocol !== 'th' && e.protocol !== this.packet.protocol) return false;
        let port = s.dport;
        if (e.field === 'sport') {
          if (this.packet.sport === undefined) throw new Unjudged('it matches the source port (give --sport)');
          port = this.packet.sport;
        }
        const hit = e.values.some((v) => {
          const [lo, hi] = v.split('-').map(Number);
          return port >= lo! && port <= (hi ?? lo!);
        });
        return hit !== !!e.negate;
      }
      case 'ifname':
        return ifnameHit(e, this.interfaceName(e.dir) ?? '');
      case 'markMatch':
        return ((s.mark & markNumber(e.mask)) >>> 0 === markNumber(e.value)) !== !!e.negate;
      case 'markSet': {
        const v = markNumber(e.value);
        s.mark = (e.op === 'or' ? s.mark | v : e.op === 'xor' ? s.mark ^ v : s.mark & v) >>> 0;
        notes.push(`mark 0x${s.mark.toString(16)}`);
        return true;
      }
      case 'setUpdate':
        s.updates.push(e.set);
        notes.push(`affinity recorded in @${e.set}`);
        return true;
      case 'counter':
        return true;
      case 'ctStatus':
        // A first packet has only the status bits NAT gave it on its way here.
        return e.statuses.some((st) => st === 'dnat' && s.dnat !== undefined) !== !!e.negate;
      case 'concatLookup': {
        if (e.key.some((k) => k.kind === 'addr' && (k.l3 === 'ip') !== (family === 'ipv4'))) return false;
        const values = e.key.map((k) => this.keyValue(k));
        const hit = !!this.mapLookup(t, e.set, values);
        if (hit) notes.push(`{ ${values.join(' . ')} } in @${e.set}`);
        return hit !== !!e.negate;
      }
      case 'other':
        throw new Unjudged(`ktables cannot judge ${e.text}`);
    }
  }
}

type IfnameExpr = Extract<Expr, { kind: 'ifname' }>;

/** Whether interface NAME passes the test (`name*` is a prefix, as nft writes it). */
function ifnameHit(e: IfnameExpr, name: string): boolean {
  const hit = e.name.endsWith('*') ? name.startsWith(e.name.slice(0, -1)) : name === e.name;
  return hit !== !!e.negate;
}

function index(t: Table): Indexed {
  return {
    table: t,
    label: `${t.family} ${t.name}`,
    chains: new Map(t.chains.map((c) => [c.name, c])),
    sets: new Map(t.sets.map((s) => [s.name, new SetIndex(s)])),
  };
}

/**
 * The IP family to trace a parsed nft rule set as: PREFER (the packet's) when the rule set has
 * a kube-proxy table of that family (a dual-stack node lists both), else its kube-proxy
 * table's, else its first ip/ip6 table's.
 */
export function nftRulesetFamily(rs: NftRuleset, prefer?: Family): Family | undefined {
  const fam = (t: Table) => (t.family === 'ip' ? 'ipv4' : t.family === 'ip6' ? 'ipv6' : undefined);
  const kube = rs.tables.filter((t) => t.name === KUBE_PROXY_TABLE && fam(t));
  if (prefer && kube.some((t) => fam(t) === prefer)) return prefer;
  const t = kube[0] ?? rs.tables.find((x) => fam(x));
  return t && fam(t);
}

/** Traces new connections through the kube-proxy table(s) of one family; indexes them once. */
export class NftablesTracer {
  readonly family: Family;
  private readonly tables: Indexed[] = [];
  private readonly hooks = new Map<string, HookChain[]>();
  private readonly local: LocalAddresses;
  private readonly ignored: string[] = [];
  private readonly lines: RuleLines;

  /**
   * LINES: where the rules stand in the text the steps should name. Default: the lines a parser
   * recorded, or, for a rule set that was not read from a text (a compile), the lines
   * emitNftables writes them on.
   */
  constructor(rs: NftRuleset, node: TraceNode, opts: { lines?: RuleLines } = {}) {
    this.family = node.family;
    this.lines = opts.lines ?? (readFromText(rs.tables.flatMap((t) => t.chains)) ? SOURCE_LINES : layOutNftables(rs));
    const families = node.family === 'ipv4' ? ['ip', 'inet'] : ['ip6', 'inet'];
    for (const t of rs.tables) {
      if (!families.includes(t.family)) continue;
      if (t.name !== KUBE_PROXY_TABLE) {
        this.ignored.push(`ignored table ${t.family} ${t.name}: only kube-proxy's rules are traced`);
        continue;
      }
      this.tables.push(index(t));
    }
    if (this.tables.length === 0) throw new RuleError(`no ${node.family === 'ipv4' ? 'ip' : 'ip6'} kube-proxy table in the rules`);
    for (const t of this.tables) {
      for (const chain of t.table.chains) {
        if (!chain.base) continue;
        let list = this.hooks.get(chain.base.hook);
        if (!list) this.hooks.set(chain.base.hook, (list = []));
        list.push({ t, chain });
      }
    }
    // Equal priorities run in registration order in the kernel; name order makes it repeatable.
    for (const list of this.hooks.values())
      list.sort((a, b) => a.chain.base!.priority - b.chain.base!.priority || (a.chain.name < b.chain.name ? -1 : 1));
    this.local = new LocalAddresses(node);
  }

  /** `path: false` leaves out the steps (an outcome-only trace, e.g. for --all). */
  trace(packet: TracePacket, opts: { path?: boolean } = {}): TraceResult {
    const recordPath = opts.path ?? true;
    const problem = packetProblem(packet, this.family);
    if (problem) throw new UsageError(problem);
    const notes = new Set<string>(this.ignored);
    const conditions = new Set<string>();
    // Walk once per combination of random picks: each walk is one branch.
    const runs: { run: Run; choices: number[] }[] = [];
    const explore = (choices: number[]) => {
      const run = new Walker(this.hooks, packet, this.local, choices, notes, conditions, recordPath, this.lines).walk();
      if (run.decisions.length <= choices.length) {
        runs.push({ run, choices });
        return;
      }
      const mod = run.decisions[choices.length]!.mod;
      if (runs.length + mod > MAX_BRANCHES) throw new RuleError(`more than ${MAX_BRANCHES} random branches: not traced`);
      for (let c = 0; c < mod; c++) explore([...choices, c]);
    };
    explore([]);

    // One path for all branches: a branch shares its predecessor's steps up to their fork.
    const path: TraceStep[] = [];
    const branches: TraceBranch[] = [];
    let prev: { choices: number[]; indices: number[] } | undefined;
    for (const { run, choices } of runs) {
      let fork = 0;
      if (prev) while (fork < choices.length && choices[fork] === prev.choices[fork]) fork++;
      const indices: number[] = [];
      run.steps.forEach((st, k) => {
        if (prev && st.level <= fork && k < prev.indices.length) {
          indices.push(prev.indices[k]!);
          return;
        }
        let probability = 1;
        let depth = 0;
        for (const d of run.decisions.slice(0, st.level)) {
          probability /= d.mod;
          if (d.mod > 1) depth++; // a pick among one is no fork
        }
        const { level: _level, ...rest } = st;
        indices.push(path.push({ ...rest, probability, depth }) - 1);
      });
      const probability = run.decisions.reduce((p, d) => p / d.mod, 1);
      branches.push({ ...run.branch, probability, steps: indices });
      prev = { choices, indices };
    }

    const result: TraceResult = {
      packet,
      entry: entryOf(this.local, parseIP(packet.src)!),
      verdict: joinVerdict(branches),
      masquerade: branches.some((b) => b.masquerade),
      endpoints: endpointsOf(branches),
      branches,
      path,
      notes: [...notes],
    };
    if (conditions.size > 0) result.conditions = [...conditions];
    return result;
  }
}

export function traceNftables(rs: NftRuleset, node: TraceNode, packet: TracePacket): TraceResult {
  return new NftablesTracer(rs, node).trace(packet);
}
