// The netfilter walk over an iptables rule set (the IR, however it was made: a compile or a
// parsed iptables-save from a node). It follows the kernel's order for the first packet of a
// connection: PREROUTING or OUTPUT (raw, mangle, nat), the routing decision by the node's
// addresses, then INPUT or FORWARD (mangle, filter, security, nat) and POSTROUTING.
//
// A random match splits the walk: both outcomes are possible, so both are followed, each with
// its probability. A rule on the path with a part it cannot judge (an opaque match, a target it
// does not model, an interface or source port the packet does not say) never stops the walk:
// a rule whose other matches fail needs nothing more; otherwise the answer is conditional and
// says which rule and what it would need to know (TraceResult.conditions).
import type { Chain, IptablesRuleset, Match, Rule, Target } from '../ir/iptables.js';
import { BUILTIN_CHAINS, targetChain } from '../ir/iptables.js';
import { formatRule, layOutIptables } from '../emit/iptables.js';
import { SOURCE_LINES, readFromText, type RuleLines } from '../ir/lines.js';
import { jumpRulesFor } from '../kubeproxy/iptables-jumps.js';
import { RuleError, UsageError } from '../errors.js';
import { bitLength, formatIP, networkContains, parseIP, parseNetwork, type Family, type IP, type Network } from '../util/ip.js';
import {
  LocalAddresses,
  endpointsOf,
  entryOf,
  joinVerdict,
  packetProblem,
  type BranchOutcome,
  type TraceBranch,
  type TraceEntry,
  type TraceNode,
  type TracePacket,
  type TraceResult,
  type TraceStep,
} from './packet.js';
import { percent } from './format.js';
import { LazyTable } from '../parse/lazy-iptables.js';

type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Tables in the order the kernel calls them at each hook (by hook priority). */
const TABLES_AT: Record<Hook, string[]> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'security', 'nat'],
  FORWARD: ['mangle', 'filter', 'security'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
  POSTROUTING: ['mangle', 'nat'],
};

interface Stage {
  hook: Hook;
  table: string;
}
type PlanItem = Stage | 'route';

const stagesOf = (hook: Hook, except: string[] = []): Stage[] =>
  TABLES_AT[hook].filter((t) => !except.includes(t)).map((table) => ({ hook, table }));
// What follows the routing decision, by where the packet came from and where it goes.
const AFTER_ROUTE = {
  inLocal: stagesOf('INPUT'),
  inForward: [...stagesOf('FORWARD'), ...stagesOf('POSTROUTING')],
  // Looped back through lo: the NAT bindings are already made, so nat INPUT is not consulted.
  outLocal: [...stagesOf('POSTROUTING'), ...stagesOf('INPUT', ['nat'])],
  outAway: stagesOf('POSTROUTING'),
};
const START: Record<TraceEntry, PlanItem[]> = {
  PREROUTING: [...stagesOf('PREROUTING'), 'route'],
  OUTPUT: [...stagesOf('OUTPUT'), 'route'],
};

// Targets that only log and let the packet go on.
const LOGGING_TARGETS = new Set(['LOG', 'NFLOG', 'ULOG', 'TRACE']);
// Targets that change something the walk does not follow (checksums, conntrack zones, TTL ...)
// and let the packet go on: whether such a rule matches decides nothing.
const PASSING_TARGETS = new Set([
  'CHECKSUM',
  'TCPMSS',
  'DSCP',
  'TOS',
  'TTL',
  'HL',
  'CLASSIFY',
  'AUDIT',
  'SECMARK',
  'CONNSECMARK',
  'IDLETIMER',
  'LED',
  'NOTRACK',
]);
const NAT_TARGETS = new Set(['DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP']);

/** Interfaces assumed when a rule asks and the packet does not say (the README names them). */
const DEFAULT_INTERFACES = { in: 'eth0', out: 'eth0' };

const MAX_DEPTH = 64; // deeper than any sane rule set; catches jump loops
const MAX_BRANCHES = 100_000;
const MAX_STEPS_PER_BRANCH = 100_000;

export interface IptablesTraceOptions {
  /**
   * Put kube-proxy's jump rules (src/kubeproxy/iptables-jumps.ts) into the built-in chains.
   * auto: only when no built-in chain of the rule set has a rule, which is the case for a
   * restore payload (a compile) and never for a node's iptables-save.
   */
  kubeProxyJumps?: 'auto' | 'always' | 'never';
  /**
   * Where the rules stand in the text the steps should name. Default: the lines a parser
   * recorded, or, for a rule set that was not read from a text (a compile), the lines
   * emitIptables writes them on.
   */
  lines?: RuleLines;
}

// ---------------------------------------------------------------------------------------------
// Walk state

interface StepLink {
  index: number;
  parent: StepLink | undefined;
}

interface CChain {
  table: string;
  name: string;
  /** Taken from `ir` when the walk first enters the chain: a dump read lazily parses only those. */
  rules: readonly Rule[] | undefined;
  policy: string | undefined;
  /** Rules [0, added) are kube-proxy's jump rules put in by the tracer. */
  added: number;
  /** The rule set's chain whose rules follow the added ones (lines are looked up by it). */
  ir: Chain | undefined;
  compiled: (CRule | undefined)[];
  index: ChainIndex | null | undefined; // undefined: not built yet; null: not worth it
}

interface Frame {
  chain: CChain;
  cands: number[] | undefined; // rule indices worth testing, or all rules
  k: number;
}

interface State {
  plan: PlanItem[];
  pi: number;
  hook: Hook;
  table: string;
  stageChain: CChain | undefined;
  frames: Frame[];
  src: IP;
  dst: IP;
  dstKey: string;
  dport: number;
  mark: number;
  dnat: string | undefined;
  snat: string | undefined;
  masquerade: boolean;
  accepted: boolean;
  outcome: 'DROP' | 'REJECT' | undefined;
  delivery: TraceBranch['delivery'] | undefined;
  localOrigin: boolean;
  probability: number;
  depth: number;
  last: StepLink | undefined;
  steps: number;
  recent: string[];
  done: boolean;
}

function cloneState(s: State): State {
  // `recent` is replaced, never changed (see execute): the branches share it until one records.
  return { ...s, frames: s.frames.map((f) => ({ ...f })) };
}

// ---------------------------------------------------------------------------------------------
// Compiled rules

type Test = (s: State) => boolean;

// Most rules have no late test, nothing unknown and no recent list: one shared empty array each
// (replaced, never pushed to).
const NO_TESTS: readonly Test[] = [];
const NO_TEXTS: readonly string[] = [];

/**
 * A rule made ready for the walk. Its text and line are looked up only when a step, a
 * condition or an error names the rule: `trace --all` over a big cluster compiles most rules
 * of the rule set and names almost none.
 */
class CRule {
  tests: readonly Test[] = NO_TESTS;
  /** Tests run after `tests` pass: interfaces and source port, which may need an assumption. */
  late: readonly Test[] = NO_TESTS;
  /** Parts of the rule the tracer cannot judge (opaque text, values it does not read). */
  unknown: readonly string[] = NO_TEXTS;
  /** Product of the rule's random matches, as the kernel rounds them; undefined: none. */
  probability: number | undefined = undefined;
  recentSet: readonly string[] = NO_TEXTS;
  /** The DNAT target, parsed the first time the rule fires. */
  dnat?: ReturnType<typeof parseDnatTarget>;
  /** The chain a jump or goto goes to, looked up the first time it fires (null: not in the rules). */
  jumpTo?: CChain | null;
  private textValue: string | undefined;
  private lineValue: number | undefined | null = null;

  constructor(
    readonly chain: CChain,
    /** 0-based, in the chain as walked (added jump rules first). */
    private readonly index: number,
    readonly rule: Rule,
    private readonly lines: () => RuleLines,
  ) {}

  get position(): number {
    return this.index + 1;
  }

  get added(): boolean {
    return this.index < this.chain.added;
  }

  get line(): number | undefined {
    if (this.lineValue === null) {
      const ir = this.chain.ir;
      this.lineValue = this.added || !ir ? undefined : this.lines().rule(ir, this.index - this.chain.added);
    }
    return this.lineValue;
  }

  get text(): string {
    return (this.textValue ??= this.rule.source?.text ?? formatRule(this.chain.name, this.rule));
  }
}

interface ChainIndex {
  byKey: Map<string, number[]>;
  rest: number[];
}

const PROTOCOL_NUMBERS: Record<string, number> = {
  all: 0,
  '0': 0,
  tcp: 6,
  '6': 6,
  udp: 17,
  '17': 17,
  sctp: 132,
  '132': 132,
  icmp: 1,
  '1': 1,
  icmpv6: 58,
  'ipv6-icmp': 58,
  '58': 58,
};
const PACKET_PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

const CT_STATES = new Set(['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'SNAT', 'DNAT']);

function parsePortRange(text: string): [number, number] | undefined {
  const m = /^(\d*)(?::(\d*))?$/.exec(text);
  if (!m || (m[1] === '' && m[2] === undefined)) return undefined;
  const lo = m[1] === '' ? 0 : Number(m[1]);
  const hi = m[2] === undefined ? lo : m[2] === '' ? 65535 : Number(m[2]);
  if (lo > 65535 || hi > 65535 || lo > hi) return undefined;
  return [lo, hi];
}

function parseU32(text: string): number | undefined {
  if (!/^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}

function parseMarkPair(text: string): { value: number; mask: number | undefined } | undefined {
  const slash = text.indexOf('/');
  const value = parseU32(slash < 0 ? text : text.slice(0, slash));
  const mask = slash < 0 ? undefined : parseU32(text.slice(slash + 1));
  if (value === undefined || (slash >= 0 && mask === undefined)) return undefined;
  return { value, mask };
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** iptables stores a probability as round(p * 2^31) and matches when a 31-bit random is below it. */
export function kernelProbability(text: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return undefined;
  const p = Number(text);
  if (!(p >= 0 && p <= 1)) return undefined;
  return Math.round(p * 0x80000000) / 0x80000000;
}

/** `--to-destination` → canonical `ip:port` / `[ip6]:port` / `ip` and its parts. */
export function parseDnatTarget(to: string, family: Family): { ip: IP; port: number | undefined; text: string } | string {
  let host = to;
  let port: string | undefined;
  if (family === 'ipv6') {
    const m = /^\[([^\]]+)\](?::(.+))?$/.exec(to);
    if (m) {
      host = m[1]!;
      port = m[2];
    }
  } else {
    const colon = to.indexOf(':');
    if (colon >= 0) {
      host = to.slice(0, colon);
      port = to.slice(colon + 1);
    }
  }
  if (host.includes('-')) return `address ranges are not supported (${to})`;
  const ip = parseIP(host);
  if (!ip || ip.family !== family) return `${JSON.stringify(to)} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} destination`;
  let portNum: number | undefined;
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `port ranges or bad ports are not supported (${to})`;
    portNum = Number(port);
  }
  const addr = formatIP(ip);
  const text = portNum === undefined ? addr : family === 'ipv6' ? `[${addr}]:${portNum}` : `${addr}:${portNum}`;
  return { ip, port: portNum, text };
}

// ---------------------------------------------------------------------------------------------

export class IptablesTracer {
  /** The rule set's chains by table and name (deleted ones left out). */
  private readonly tables = new Map<string, Map<string, Chain>>();
  /** Their walk state, made when the walk first looks a chain up (and the chains jumps were put in). */
  private readonly cchains = new Map<string, Map<string, CChain>>();
  /** Match tests made once (see sharedTest); a string: why the match cannot be judged. */
  private readonly shared = new Map<string, Test | string>();
  private readonly local: LocalAddresses;
  readonly family: Family;
  /** kube-proxy's jump rules were added to the built-in chains. */
  readonly addedJumps: boolean;
  private packet!: TracePacket;
  private recordPath = true;
  /** What the current trace could not judge, and what it assumed. */
  private conditions = new Set<string>();
  private assumed = new Set<string>();
  /** Where each rule stands in the text the steps name. */
  private lines: RuleLines | undefined;
  /** The lines, laid out the first time a rule is named (a compile's layout takes a while). */
  private readonly ruleLines = (): RuleLines => (this.lines ??= layOutIptables(this.ruleset));

  constructor(
    readonly ruleset: IptablesRuleset,
    node: TraceNode,
    opts: IptablesTraceOptions = {},
  ) {
    this.family = ruleset.family;
    if (node.family !== ruleset.family) throw new UsageError(`the node is ${node.family} but the rules are ${ruleset.family}`);
    this.local = new LocalAddresses(node);
    this.lines = opts.lines ?? (readFromText(ruleset.tables.flatMap((t) => t.chains)) ? SOURCE_LINES : undefined);
    let anyBuiltinRules = false;
    const once = (name: string) => ruleset.tables.filter((t) => t.name === name).length === 1;
    for (const t of ruleset.tables) {
      // A table read lazily comes with its map from name to chain: taken as it is, when nothing
      // (a second table of that name, a deleted chain) makes the tracer's own differ.
      if (t instanceof LazyTable && t.deleted.length === 0 && once(t.name)) {
        for (const name of BUILTIN_CHAINS[t.name] ?? []) if ((t.byName.get(name)?.ruleCount ?? 0) > 0) anyBuiltinRules = true;
        this.tables.set(t.name, t.byName);
        continue;
      }
      const chains = this.tables.get(t.name) ?? new Map<string, Chain>();
      const deleted = new Set(t.deleted);
      for (const c of t.chains) {
        if (BUILTIN_CHAINS[t.name]?.includes(c.name) && c.rules.length > 0) anyBuiltinRules = true;
        if (!deleted.has(c.name)) chains.set(c.name, c);
      }
      this.tables.set(t.name, chains);
    }
    const mode = opts.kubeProxyJumps ?? 'auto';
    this.addedJumps = mode === 'always' || (mode === 'auto' && !anyBuiltinRules);
    if (this.addedJumps) this.addKubeProxyJumps();
  }

  /** The walk state of a chain; a dump has 100,000s of chains and a walk sees a few. */
  private chain(table: string, name: string): CChain | undefined {
    let made = this.cchains.get(table);
    let c = made?.get(name);
    if (c) return c;
    const ir = this.tables.get(table)?.get(name);
    if (!ir) return undefined;
    if (!made) this.cchains.set(table, (made = new Map()));
    c = { table, name, rules: undefined, policy: ir.policy, added: 0, ir, compiled: [], index: undefined };
    made.set(name, c);
    return c;
  }

  /** kube-proxy inserts its jumps at the top of the built-in chains; only to chains that exist. */
  private addKubeProxyJumps(): void {
    for (const [table, chains] of this.tables) {
      for (const name of BUILTIN_CHAINS[table] ?? []) {
        const jumps = jumpRulesFor(table, name).filter((r) => chains.has(targetChain(r) ?? ''));
        if (jumps.length === 0) continue;
        const existing = chains.get(name);
        let made = this.cchains.get(table);
        if (!made) this.cchains.set(table, (made = new Map()));
        made.set(name, {
          table,
          name,
          rules: [...jumps, ...(existing?.rules ?? [])],
          policy: existing?.policy,
          added: jumps.length,
          ir: existing,
          compiled: [],
          index: undefined,
        });
      }
    }
  }

  /** The chains of a table, for callers that want to look around (e.g. --all). */
  hasChain(table: string, chain: string): boolean {
    return (this.cchains.get(table)?.has(chain) ?? false) || (this.tables.get(table)?.has(chain) ?? false);
  }

  /**
   * Follows one packet. With `path: false` only the outcome is kept (no steps): what a table
   * of many packets needs, at a fraction of the allocation.
   */
  trace(packet: TracePacket, opts: { path?: boolean } = {}): TraceResult {
    const problem = packetProblem(packet, this.family);
    if (problem) throw new UsageError(problem);
    if (!(packet.protocol in PACKET_PROTOCOLS)) throw new UsageError(`--protocol must be TCP, UDP or SCTP (got ${packet.protocol})`);
    this.packet = packet;
    this.recordPath = opts.path ?? true;
    this.conditions = new Set();
    this.assumed = new Set();
    const src = parseIP(packet.src)!;
    const dst = parseIP(packet.dst)!;
    const entry: TraceEntry = entryOf(this.local, src);
    const root: State = {
      plan: START[entry],
      pi: 0,
      hook: entry,
      table: '',
      stageChain: undefined,
      frames: [],
      src,
      dst,
      dstKey: formatIP(dst),
      dport: packet.dport,
      mark: 0,
      dnat: undefined,
      snat: undefined,
      masquerade: false,
      accepted: false,
      outcome: undefined,
      delivery: undefined,
      localOrigin: entry === 'OUTPUT',
      probability: 1,
      depth: 0,
      last: undefined,
      steps: 0,
      recent: [],
      done: false,
    };
    const path: TraceStep[] = [];
    const branches: TraceBranch[] = [];
    const stack: State[] = [root];
    while (stack.length > 0) {
      const s = stack.pop()!;
      this.run(s, stack, path);
      branches.push(this.branchOf(s));
      if (branches.length > MAX_BRANCHES) throw new RuleError(`more than ${MAX_BRANCHES} possible outcomes; giving up`);
    }
    const notes: string[] = [];
    if (this.addedJumps)
      notes.push('the built-in chains have no rules (a restore payload): kube-proxy\'s jump rules were put in (steps marked "added")');
    for (const a of this.assumed) notes.push(a);
    const live = branches.filter((b) => b.outcome !== 'DROP' && b.outcome !== 'REJECT');
    const result: TraceResult = {
      packet,
      entry,
      verdict: joinVerdict(branches),
      masquerade: live.some((b) => b.masquerade),
      endpoints: endpointsOf(branches),
      branches,
      path,
      notes,
    };
    if (this.conditions.size > 0) result.conditions = [...this.conditions];
    return result;
  }

  private branchOf(s: State): TraceBranch {
    const steps: number[] = [];
    for (let l = s.last; l; l = l.parent) steps.push(l.index);
    steps.reverse();
    let outcome: BranchOutcome;
    if (s.outcome) outcome = s.outcome;
    else if (s.dnat !== undefined) outcome = 'DNAT';
    else if (s.accepted) outcome = 'ACCEPT';
    else outcome = 'NONE';
    const b: TraceBranch = {
      probability: s.probability,
      outcome,
      masquerade: s.masquerade,
      delivery: s.outcome ? 'dropped' : (s.delivery ?? 'dropped'),
      mark: hex(s.mark),
      recent: s.recent,
      steps,
    };
    if (s.dnat !== undefined) b.dnat = s.dnat;
    if (s.snat !== undefined) b.snat = s.snat;
    return b;
  }

  // -------------------------------------------------------------------------------------------
  // The walk

  private run(s: State, stack: State[], path: TraceStep[]): void {
    while (!s.done) {
      if (s.frames.length === 0) {
        this.nextStage(s, path);
        continue;
      }
      const f = s.frames[s.frames.length - 1]!;
      const count = f.cands ? f.cands.length : f.chain.rules!.length;
      if (f.k >= count) {
        // Falling off the end of a chain is a RETURN.
        s.frames.pop();
        if (s.frames.length === 0) this.policy(s, path);
        continue;
      }
      const i = f.cands ? f.cands[f.k]! : f.k;
      f.k++;
      const cr = this.compiled(f.chain, i);
      if (!this.matches(cr, s)) continue;
      let note: string | undefined;
      if (cr.probability !== undefined) {
        const p = cr.probability;
        if (p <= 0) continue;
        if (p < 1) {
          const other = cloneState(s);
          other.probability *= 1 - p;
          stack.push(other);
          s.probability *= p;
          s.depth++;
          // Notes only go into recorded steps: a table of outcomes (--all) skips the text.
          if (this.recordPath) note = `random ${percent(p)}: matched (not matched: ${percent(1 - p)}, the next rules)`;
        }
      }
      this.execute(s, f, cr, path, note);
    }
  }

  /** Counts a step (a runaway walk is an error) and tells whether to record it. */
  private counted(s: State): boolean {
    if (++s.steps > MAX_STEPS_PER_BRANCH) throw new RuleError(`more than ${MAX_STEPS_PER_BRANCH} rules on one path; is there a loop?`);
    return this.recordPath;
  }

  private addStep(s: State, path: TraceStep[], step: TraceStep): void {
    path.push(step);
    s.last = { index: path.length - 1, parent: s.last };
  }

  /** Steps always have every field (undefined when absent): one object shape keeps the walk fast. */
  private step(s: State, kind: TraceStep['kind'], table: string, chain: string, text: string, cr?: CRule, note?: string): TraceStep {
    return {
      kind,
      hook: kind === 'route' ? 'routing' : s.hook,
      table,
      chain,
      position: cr?.position,
      line: cr?.line,
      text,
      added: cr?.added ? true : undefined,
      probability: s.probability,
      depth: s.depth,
      note,
    };
  }

  private ruleStep(s: State, path: TraceStep[], chain: CChain, cr: CRule, note: string | undefined): void {
    if (this.counted(s)) this.addStep(s, path, this.step(s, 'rule', chain.table, chain.name, cr.text, cr, note));
  }

  private nextStage(s: State, path: TraceStep[]): void {
    while (s.pi < s.plan.length) {
      const item = s.plan[s.pi++]!;
      if (item === 'route') {
        this.route(s, path);
        continue;
      }
      const chain = this.chain(item.table, item.hook);
      if (!chain) continue;
      s.hook = item.hook;
      s.table = item.table;
      s.stageChain = chain;
      s.frames = [this.frame(chain, s)];
      return;
    }
    s.done = true;
  }

  /** The routing decision: after PREROUTING for packets that arrive, after OUTPUT for local ones. */
  private route(s: State, path: TraceStep[]): void {
    const isLocal = this.local.has(s.dst);
    let rest: PlanItem[];
    let text: string;
    if (s.localOrigin) {
      rest = isLocal ? AFTER_ROUTE.outLocal : AFTER_ROUTE.outAway;
      s.delivery = isLocal ? 'local' : 'out';
      text = isLocal
        ? `${s.dstKey} is a local address: sent over lo and delivered to the node (POSTROUTING, then INPUT)`
        : `${s.dstKey} is not a local address: sent out (POSTROUTING)`;
    } else {
      rest = isLocal ? AFTER_ROUTE.inLocal : AFTER_ROUTE.inForward;
      s.delivery = isLocal ? 'local' : 'forward';
      text = isLocal
        ? `${s.dstKey} is a local address: delivered to the node (INPUT)`
        : `${s.dstKey} is not a local address: forwarded (FORWARD, then POSTROUTING)`;
    }
    // The plan is shared between branches: replace it, never change it.
    s.plan = [...s.plan.slice(0, s.pi), ...rest];
    if (this.counted(s)) this.addStep(s, path, this.step(s, 'route', '', '', text));
  }

  private policy(s: State, path: TraceStep[]): void {
    const chain = s.stageChain!;
    const policy = chain.policy ?? 'ACCEPT';
    if (policy === 'DROP') {
      if (this.counted(s))
        this.addStep(s, path, this.step(s, 'policy', chain.table, chain.name, `policy DROP of ${chain.table} ${chain.name}`));
      this.finish(s, 'DROP');
    } else if (policy !== 'ACCEPT') {
      this.conditions.add(`${chain.table} ${chain.name}: policy ${policy} is not understood: traced as ACCEPT`);
    }
    s.frames = [];
  }

  private finish(s: State, outcome: 'DROP' | 'REJECT'): void {
    s.outcome = outcome;
    s.frames = [];
    s.done = true;
  }

  private frame(chain: CChain, s: State): Frame {
    chain.rules ??= chain.ir?.rules ?? [];
    if (chain.index === undefined) chain.index = this.buildIndex(chain);
    const idx = chain.index;
    if (!idx) return { chain, cands: undefined, k: 0 };
    return { chain, cands: mergeSorted(idx.rest, idx.byKey.get(`d${s.dstKey}`), idx.byKey.get(`p${s.dport}`)), k: 0 };
  }

  /**
   * Long chains (KUBE-SERVICES, KUBE-NODEPORTS ...) are mostly rules for one destination
   * address or one port. Grouping them by that key lets a walk test only the rules that could
   * match, in their original order, instead of every rule of the chain.
   */
  private buildIndex(chain: CChain): ChainIndex | null {
    const n = chain.rules!.length;
    if (n < 16) return null;
    const byKey = new Map<string, number[]>();
    const rest: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = i < chain.added ? undefined : this.indexKey(chain.rules![i]!);
      if (key === undefined) rest.push(i);
      else {
        const list = byKey.get(key);
        if (list) list.push(i);
        else byKey.set(key, [i]);
      }
    }
    return rest.length * 2 > n ? null : { byKey, rest };
  }

  private indexKey(rule: Rule): string | undefined {
    let port: string | undefined;
    for (const m of rule.matches) {
      if (m.kind === 'destination' && !m.negate && !m.cidr.includes(',')) {
        const a = parseNetwork(m.cidr, this.family);
        if (typeof a !== 'string' && a.prefix === bitLength(this.family)) return `d${formatIP(a.ip)}`;
      }
      if (m.kind === 'dport' && !m.negate && /^\d{1,5}$/.test(m.port)) port = `p${Number(m.port)}`;
    }
    return port;
  }

  private compiled(chain: CChain, i: number): CRule {
    let cr = chain.compiled[i];
    if (!cr) chain.compiled[i] = cr = this.compile(chain, i);
    return cr;
  }

  private matches(cr: CRule, s: State): boolean {
    for (const t of cr.tests) if (!t(s)) return false;
    if (cr.late.length > 0) for (const t of cr.late) if (!t(s)) return false;
    if (cr.unknown.length > 0) {
      // Everything it can judge matches; the rest decides. Rules whose target decides nothing
      // need no answer.
      if (!this.passing(cr.rule.target))
        this.conditions.add(
          `${this.where(cr)} could match: ktables cannot judge ${cr.unknown.join('; ')}; traced as not matching: ${cr.text}`,
        );
      return false;
    }
    return true;
  }

  /** A target after which the walk goes on as if the rule had not matched. */
  private passing(t: Target | undefined): boolean {
    if (!t) return true;
    if (t.kind !== 'other') return false;
    const name = /^-j\s+(\S+)/.exec(t.text)?.[1] ?? '';
    return LOGGING_TARGETS.has(name) || PASSING_TARGETS.has(name);
  }

  private where(cr: Pick<CRule, 'chain' | 'position' | 'line' | 'added'>): string {
    return `${cr.chain.table} ${cr.chain.name} #${cr.position}${cr.line !== undefined ? ` (line ${cr.line})` : cr.added ? ' (added jump rule)' : ''}`;
  }

  // -------------------------------------------------------------------------------------------
  // Targets

  private execute(s: State, f: Frame, cr: CRule, path: TraceStep[], note: string | undefined): void {
    const chain = f.chain;
    const t = cr.rule.target;
    const fail = (msg: string): never => {
      throw this.error(chain, cr, msg);
    };
    if (cr.recentSet.length > 0) {
      s.recent = [...s.recent, ...cr.recentSet];
      note = joinNotes(note, `records the client in recent list ${cr.recentSet.join(', ')} (session affinity)`);
    }
    if (!t) {
      this.ruleStep(s, path, chain, cr, joinNotes(note, 'no target: counted, walk goes on'));
      return;
    }
    switch (t.kind) {
      case 'jump':
      case 'goto': {
        if (cr.jumpTo === undefined) cr.jumpTo = this.chain(chain.table, t.chain) ?? null;
        const target = cr.jumpTo;
        if (!target) {
          if (t.kind === 'jump' && LOGGING_TARGETS.has(t.chain)) {
            this.ruleStep(s, path, chain, cr, joinNotes(note, 'logs; walk goes on'));
            return;
          }
          // A fragment or a dump cut short: what the chain would do is not known.
          this.conditions.add(
            `${this.where(cr)} jumps to ${t.chain}, which is not in table ${chain.table} of these rules: traced as if it returned: ${cr.text}`,
          );
          this.ruleStep(s, path, chain, cr, joinNotes(note, `${t.chain} is not in the rules: walk goes on`));
          if (t.kind === 'goto') {
            s.frames.pop();
            if (s.frames.length === 0) this.policy(s, path);
          }
          return;
        }
        this.ruleStep(s, path, chain, cr, note);
        if (t.kind === 'goto') s.frames.pop();
        if (s.frames.length >= MAX_DEPTH) fail(`chains nest deeper than ${MAX_DEPTH}; is there a loop?`);
        s.frames.push(this.frame(target!, s));
        return;
      }
      case 'RETURN':
        this.ruleStep(s, path, chain, cr, note);
        s.frames.pop();
        if (s.frames.length === 0) this.policy(s, path);
        return;
      case 'ACCEPT':
        this.ruleStep(s, path, chain, cr, note);
        if (chain.table === 'filter') s.accepted = true;
        s.frames = [];
        return;
      case 'DROP':
      case 'REJECT':
        this.ruleStep(s, path, chain, cr, note);
        this.finish(s, t.kind);
        return;
      case 'DNAT': {
        if (chain.table !== 'nat' || (s.hook !== 'PREROUTING' && s.hook !== 'OUTPUT')) fail('DNAT outside nat PREROUTING/OUTPUT');
        const d = (cr.dnat ??= parseDnatTarget(t.to, this.family));
        if (typeof d === 'string') fail(d);
        const to = d as Exclude<typeof d, string>;
        this.ruleStep(s, path, chain, cr, joinNotes(note, `destination becomes ${to.text}`));
        s.dst = to.ip;
        s.dstKey = formatIP(to.ip);
        if (to.port !== undefined) s.dport = to.port;
        s.dnat = to.text;
        s.frames = []; // a NAT target ends the nat table for this hook
        return;
      }
      case 'SNAT':
        if (chain.table !== 'nat' || (s.hook !== 'POSTROUTING' && s.hook !== 'INPUT')) fail('SNAT outside nat POSTROUTING/INPUT');
        this.ruleStep(s, path, chain, cr, joinNotes(note, `source becomes ${t.to}`));
        s.snat = t.to;
        s.frames = [];
        return;
      case 'MASQUERADE':
        if (chain.table !== 'nat' || s.hook !== 'POSTROUTING') fail('MASQUERADE outside nat POSTROUTING');
        this.ruleStep(s, path, chain, cr, joinNotes(note, "source becomes the outgoing interface's address"));
        s.masquerade = true;
        s.frames = [];
        return;
      case 'MARK': {
        s.mark = applyMark(s.mark, t, fail);
        this.ruleStep(s, path, chain, cr, joinNotes(note, `mark is now ${hex(s.mark)}`));
        return;
      }
      case 'other': {
        const name = /^-[jg]\s+(\S+)/.exec(t.text)?.[1] ?? '';
        if (LOGGING_TARGETS.has(name)) {
          this.ruleStep(s, path, chain, cr, joinNotes(note, 'logs; walk goes on'));
          return;
        }
        if (PASSING_TARGETS.has(name)) {
          this.ruleStep(s, path, chain, cr, joinNotes(note, `${name} changes nothing this trace follows; walk goes on`));
          return;
        }
        // SNAT / MASQUERADE with options the IR does not hold (--random-fully, --persistent):
        // the source changes all the same.
        const to = /\s--to-source\s+([^\s-]\S*)/.exec(t.text)?.[1];
        if (chain.table === 'nat' && ((name === 'SNAT' && to) || name === 'MASQUERADE')) {
          this.ruleStep(
            s,
            path,
            chain,
            cr,
            joinNotes(note, name === 'SNAT' ? `source becomes ${to}` : "source becomes the outgoing interface's address"),
          );
          if (name === 'SNAT') s.snat = to;
          else s.masquerade = true;
          s.frames = [];
          return;
        }
        if (NAT_TARGETS.has(name) && chain.table === 'nat') {
          // A NAT target ends the nat table for this hook whatever it says; what it does is unknown.
          this.conditions.add(
            `${this.where(cr)} matches, but its target cannot be read (${t.text}): where the packet goes from here is unknown: ${cr.text}`,
          );
          this.ruleStep(s, path, chain, cr, joinNotes(note, 'target not read: the nat table ends here, outcome unknown'));
          s.frames = [];
          return;
        }
        this.conditions.add(
          `${this.where(cr)} matches, but ktables does not model its target (${t.text}): traced as if the walk went on: ${cr.text}`,
        );
        this.ruleStep(s, path, chain, cr, joinNotes(note, 'target not modelled: walk goes on'));
        return;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Matches

  private error(chain: CChain, cr: Pick<CRule, 'position' | 'line' | 'text' | 'added'>, msg: string): RuleError {
    const where = `${chain.table} ${chain.name} rule ${cr.position}${cr.line !== undefined ? ` (line ${cr.line})` : cr.added ? ' (added jump rule)' : ''}`;
    return new RuleError(`${where}: ${msg}: ${cr.text}`);
  }

  private compile(chain: CChain, i: number): CRule {
    const rule = chain.rules![i]!;
    const cr = new CRule(chain, i, rule, this.ruleLines);
    // What it cannot judge makes the rule conditional (see matches), never an error.
    const fail = (msg: string): Test | undefined => {
      cr.unknown = [...cr.unknown, msg];
      return undefined;
    };
    // The kernel checks the addresses, protocol and interfaces (the entry header) before any
    // match module; an unsupported module behind a failing address test is never reached.
    const header: Test[] = [];
    const modules: Test[] = [];
    for (const m of rule.matches) {
      const t = this.compileMatch(m, cr, fail);
      if (t === undefined) continue;
      if (m.kind === 'inInterface' || m.kind === 'outInterface' || m.kind === 'sport') cr.late = [...cr.late, t];
      else if (m.kind === 'source' || m.kind === 'destination' || m.kind === 'protocol') header.push(t);
      else modules.push(t);
    }
    if (header.length + modules.length > 0) cr.tests = modules.length === 0 ? header : [...header, ...modules];
    return cr;
  }

  /**
   * The test of a match that depends on nothing but its values, made once per tracer: a big
   * cluster's rules repeat a few protocols, ports and marks 100,000s of times, and every
   * compiled rule stays for the run.
   */
  private sharedTest(key: string, m: Match, cr: CRule, fail: (msg: string) => Test | undefined): Test | undefined {
    let t = this.shared.get(key);
    if (t === undefined) {
      let why = '';
      // These kinds give a test or say why not; what cannot be judged is told for every rule.
      t =
        this.matchTest(m, cr, (msg) => {
          why = msg;
          return undefined;
        }) ?? why;
      this.shared.set(key, t);
    }
    return typeof t === 'string' ? fail(t) : t;
  }

  private compileMatch(m: Match, cr: CRule, fail: (msg: string) => Test | undefined): Test | undefined {
    switch (m.kind) {
      // Keys: the kind, then every value the test reads, apart by a character no value holds.
      case 'module':
        return this.sharedTest(`m\n${m.name}`, m, cr, fail);
      case 'protocol':
        return this.sharedTest(`p\n${m.negate === true}\n${m.protocol}`, m, cr, fail);
      case 'dport':
        return this.sharedTest(`d\n${m.negate === true}\n${m.port}`, m, cr, fail);
      case 'addrtype':
        return this.sharedTest(`a\n${m.negate === true}\n${m.direction}\n${m.type}`, m, cr, fail);
      case 'mark':
        return this.sharedTest(`k\n${m.negate === true}\n${m.value}\n${m.mask === undefined ? '' : `/${m.mask}`}`, m, cr, fail);
      case 'conntrack':
        return this.sharedTest(`c\n${m.negate === true}\n${m.states.join('\n')}`, m, cr, fail);
      case 'source':
      case 'destination': {
        const nets: Network[] = [];
        for (const part of m.cidr.split(',')) {
          const a = parseNetwork(part, this.family);
          if (typeof a === 'string') return fail(a);
          nets.push(a);
        }
        return addressTest(nets, m.kind, m.negate === true);
      }
      default:
        return this.matchTest(m, cr, fail);
    }
  }

  private matchTest(m: Match, cr: CRule, fail: (msg: string) => Test | undefined): Test | undefined {
    const neg = (t: Test, negate: boolean | undefined): Test => (negate ? (s) => !t(s) : t);
    switch (m.kind) {
      case 'comment':
      case 'nfacct': // counts, always matches
        return undefined;
      case 'module': {
        const proto = PACKET_PROTOCOLS[m.name];
        if (proto === undefined) return fail(`match module -m ${m.name} is not understood`);
        return () => PACKET_PROTOCOLS[this.packet.protocol] === proto;
      }
      case 'protocol': {
        const n = PROTOCOL_NUMBERS[m.protocol.toLowerCase()];
        if (n === undefined) return fail(`protocol ${m.protocol} is not understood`);
        return neg(n === 0 ? () => true : () => PACKET_PROTOCOLS[this.packet.protocol] === n, m.negate);
      }
      case 'source':
      case 'destination': {
        const tests: ((ip: IP) => boolean)[] = [];
        for (const part of m.cidr.split(',')) {
          const a = parseNetwork(part, this.family);
          if (typeof a === 'string') return fail(a);
          tests.push((ip) => networkContains(a, ip));
        }
        const one = tests.length === 1 ? tests[0]! : (ip: IP) => tests.some((t) => t(ip));
        return neg(m.kind === 'source' ? (s) => one(s.src) : (s) => one(s.dst), m.negate);
      }
      case 'dport':
      case 'sport': {
        const range = parsePortRange(m.port);
        if (!range) return fail(`port ${m.port} is not understood`);
        const [lo, hi] = range;
        if (m.kind === 'dport') return neg((s) => s.dport >= lo && s.dport <= hi, m.negate);
        // No source port given: the rule cannot be judged (a test that fails after noting why).
        return neg(() => {
          const sp = this.packet.sport;
          if (sp === undefined) {
            this.conditions.add(
              `${this.where(cr)} could match: it matches the source port (give --sport); traced as not matching: ${cr.text}`,
            );
            return !m.negate ? false : true;
          }
          return sp >= lo && sp <= hi;
        }, m.negate);
      }
      case 'inInterface':
      case 'outInterface': {
        const name = m.name;
        const prefix = name.endsWith('+') ? name.slice(0, -1) : undefined;
        const want = m.kind === 'inInterface' ? 'in' : 'out';
        return neg((s) => {
          let iface = this.interfaceOf(s, want);
          if (iface === undefined) {
            iface = DEFAULT_INTERFACES[want];
            this.assumed.add(`${this.where(cr)} matches the ${want}put interface: assumed ${iface} (give --${want}-interface)`);
          }
          return prefix !== undefined ? iface.startsWith(prefix) : iface === name;
        }, m.negate);
      }
      case 'addrtype': {
        if (m.type.split(',').some((t) => t !== 'LOCAL')) return fail(`address type ${m.type} is not understood (only LOCAL)`);
        return neg(m.direction === 'src' ? (s) => this.local.has(s.src) : (s) => this.local.has(s.dst), m.negate);
      }
      case 'mark': {
        const v = parseU32(m.value);
        const mask = m.mask === undefined ? 0xffffffff : parseU32(m.mask);
        if (v === undefined || mask === undefined) return fail(`mark ${m.value}${m.mask ? `/${m.mask}` : ''} is not understood`);
        return neg((s) => (s.mark & mask) >>> 0 === v, m.negate);
      }
      case 'conntrack': {
        const bad = m.states.find((x) => !CT_STATES.has(x));
        if (bad) return fail(`conntrack state ${bad} is not understood`);
        const want = new Set(m.states);
        return neg((s) => {
          // In raw the packet has no conntrack entry yet: the match sees INVALID.
          if (s.table === 'raw') return want.has('INVALID');
          // The first packet of a connection is NEW; DNAT/SNAT once a NAT rule changed it.
          return (
            want.has('NEW') || (want.has('DNAT') && s.dnat !== undefined) || (want.has('SNAT') && (s.masquerade || s.snat !== undefined))
          );
        }, m.negate);
      }
      case 'statistic': {
        const p = kernelProbability(m.probability);
        if (p === undefined) return fail(`probability ${m.probability} is not understood`);
        cr.probability = (cr.probability ?? 1) * p;
        return undefined;
      }
      case 'recent':
        if (m.action === 'set') {
          cr.recentSet = [...cr.recentSet, m.name];
          return undefined; // --set always matches (and records the client)
        }
        // A new client is in no list: --rcheck / --update / --remove do not match.
        return () => false;
      case 'other':
        return fail(m.text);
    }
  }

  /** The interface netfilter shows a rule at this point of the walk ('' for none). */
  private interfaceOf(s: State, which: 'in' | 'out'): string | undefined {
    if (which === 'in') {
      if (s.hook === 'OUTPUT' || s.hook === 'POSTROUTING') return '';
      if (s.localOrigin) return 'lo';
      return this.packet.inInterface;
    }
    if (s.hook === 'PREROUTING' || s.hook === 'INPUT') return '';
    if (s.localOrigin && this.local.has(s.dst)) return 'lo';
    return this.packet.outInterface;
  }
}

/** An address match: one closure that holds only the networks (a dump has 100,000s). */
function addressTest(nets: Network[], side: 'source' | 'destination', negate: boolean): Test {
  const one = nets.length === 1 ? nets[0]! : undefined;
  if (side === 'source') {
    if (one) return negate ? (s) => !networkContains(one, s.src) : (s) => networkContains(one, s.src);
    return (s) => nets.some((a) => networkContains(a, s.src)) !== negate;
  }
  if (one) return negate ? (s) => !networkContains(one, s.dst) : (s) => networkContains(one, s.dst);
  return (s) => nets.some((a) => networkContains(a, s.dst)) !== negate;
}

function applyMark(mark: number, t: Extract<Target, { kind: 'MARK' }>, fail: (msg: string) => never): number {
  const pair = parseMarkPair(t.value);
  if (!pair) fail(`mark ${t.value} is not understood`);
  const { value, mask } = pair!;
  switch (t.op) {
    case 'set-xmark':
      return ((mark & ~(mask ?? 0xffffffff)) ^ value) >>> 0;
    case 'set':
      return ((mark & ~(mask ?? 0xffffffff)) | value) >>> 0;
    case 'or':
      return (mark | value) >>> 0;
    case 'xor':
      return (mark ^ value) >>> 0;
    case 'and':
      return (mark & value) >>> 0;
  }
}

function joinNotes(a: string | undefined, b: string): string {
  return a ? `${a}; ${b}` : b;
}

/** Merges sorted index lists into one sorted list. */
function mergeSorted(a: number[], b: number[] | undefined, c: number[] | undefined): number[] {
  if (!b && !c) return a;
  const lists = [a, b ?? [], c ?? []].filter((l) => l.length > 0);
  if (lists.length === 1) return lists[0]!;
  const out: number[] = [];
  const pos = lists.map(() => 0);
  for (;;) {
    let best = -1;
    for (let j = 0; j < lists.length; j++) {
      const l = lists[j]!;
      if (pos[j]! < l.length && (best < 0 || l[pos[j]!]! < lists[best]![pos[best]!]!)) best = j;
    }
    if (best < 0) return out;
    out.push(lists[best]![pos[best]!++]!);
  }
}
