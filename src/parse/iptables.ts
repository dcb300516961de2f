// iptables-save / iptables-restore text → the rule-set IR. Accepts kube-proxy's restore input
// and what iptables-save prints back on a node (-d 1.2.3.4/32, options in another order,
// `-m tcp` after `-p tcp`, quoted comments, counters). A part of a rule it cannot read stays
// in the IR as opaque text (see parseRuleWords), never a silent guess and never a refusal.
import type { Family } from '../util/ip.js';
import { RuleError } from '../errors.js';
import type { Chain, IptablesRuleset, Match, Rule, Table, Target } from '../ir/iptables.js';
import { scanRules, type RulesFormat, type Scanned } from './scan.js';
import { excerpt } from '../util/text.js';

/** Splits a rule line into words, honouring "double quotes" and backslash escapes as iptables does. */
export function tokenize(line: string, lineNo: number): string[] {
  const spans = tokenSpans(line);
  if (!spans) throw new RuleError(`line ${lineNo}: unterminated quote: ${excerpt(line)}`);
  return spans.map((s) => s.word);
}

interface Span {
  word: string;
  start: number;
  end: number;
}

/** The words of a line with where each starts and ends; undefined for an unterminated quote. */
export function tokenSpans(line: string): Span[] | undefined {
  const out: Span[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let word = '';
    let quoted = false;
    while (i < line.length && (quoted || !/\s/.test(line[i]!))) {
      const ch = line[i]!;
      if (ch === '\\' && i + 1 < line.length) {
        word += line[i + 1];
        i += 2;
        continue;
      }
      if (ch === '"') {
        quoted = !quoted;
        i++;
        continue;
      }
      word += ch;
      i++;
    }
    if (quoted) return undefined;
    out.push({ word, start, end: i });
  }
  return out;
}

class Words {
  i = 0;
  constructor(
    readonly words: string[],
    readonly lineNo: number,
    readonly text: string,
  ) {}
  more(): boolean {
    return this.i < this.words.length;
  }
  peek(): string | undefined {
    return this.words[this.i];
  }
  next(what: string): string {
    const w = this.words[this.i++];
    if (w === undefined) this.fail(`expected ${what}`);
    return w;
  }
  fail(message: string): never {
    throw new RuleError(`line ${this.lineNo}: ${message}: ${excerpt(this.text)}`);
  }
}

const MARK_TARGET_OPS: Record<string, 'or' | 'xor' | 'set-xmark' | 'set' | 'and'> = {
  '--or-mark': 'or',
  '--xor-mark': 'xor',
  '--set-xmark': 'set-xmark',
  '--set-mark': 'set',
  '--and-mark': 'and',
};

// A target option value is never an option itself: `--to-destination --random` is what a
// mismatched iptables binary prints for a target it could not decode.
const value = (w: Words, what: string): string => {
  const v = w.next(what);
  if (v === '' || v.startsWith('--')) w.fail(`expected ${what}, got ${JSON.stringify(v)}`);
  return v;
};

/** The target and its options; throws on anything it does not know (the caller keeps it opaque). */
function parseTarget(w: Words, name: string, isGoto: boolean): Target {
  if (isGoto) return { kind: 'goto', chain: name };
  let t: Target;
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      t = { kind: name };
      break;
    case 'REJECT': {
      if (w.peek() === '--reject-with') {
        w.next('--reject-with');
        t = { kind: 'REJECT', rejectWith: value(w, 'a reject type') };
      } else t = { kind: 'REJECT' };
      break;
    }
    case 'DNAT':
    case 'SNAT': {
      const opt = w.next(name === 'DNAT' ? '--to-destination' : '--to-source');
      if (opt !== (name === 'DNAT' ? '--to-destination' : '--to-source')) w.fail(`unexpected ${opt} after -j ${name}`);
      const to = value(w, 'an address');
      t = name === 'DNAT' ? { kind: 'DNAT', to } : { kind: 'SNAT', to };
      break;
    }
    case 'MARK': {
      const opt = w.next('a MARK option');
      const op = MARK_TARGET_OPS[opt];
      if (!op) w.fail(`unknown MARK option ${opt}`);
      t = { kind: 'MARK', op, value: value(w, 'a mark value') };
      break;
    }
    case 'MASQUERADE': {
      const m: Target = { kind: 'MASQUERADE' };
      while (w.more()) {
        const opt = w.next('option');
        if (opt === '--random-fully' && !m.randomFully) m.randomFully = true;
        else if (opt === '--to-ports' && m.toPorts === undefined && !m.randomFully) m.toPorts = value(w, 'ports');
        else w.fail(`unknown MASQUERADE option ${opt}`);
      }
      t = m;
      break;
    }
    default:
      // A user chain (iptables cannot tell us; a name that is not a known target is a chain).
      // An upper-case name with options is an extension target (NFLOG, CONNMARK, CHECKSUM ...).
      if (w.more()) w.fail(`target ${name} is not one ktables reads`);
      t = { kind: 'jump', chain: name };
  }
  if (w.more()) w.fail(`unexpected ${w.peek()} after -j ${name}`);
  return t;
}

function splitMark(v: string): { value: string; mask?: string } {
  const slash = v.indexOf('/');
  return slash < 0 ? { value: v } : { value: v.slice(0, slash), mask: v.slice(slash + 1) };
}

const NEGATABLE = new Set([
  '-p',
  '--protocol',
  '-s',
  '--source',
  '--src',
  '-d',
  '--destination',
  '--dst',
  '-i',
  '--in-interface',
  '-o',
  '--out-interface',
  '--dport',
  '--destination-port',
  '--sport',
  '--source-port',
  '--src-type',
  '--dst-type',
  '--mark',
  '--ctstate',
]);

/** The options every rule has, whatever module is loaded: where an unknown module's options end. */
const GENERIC = new Set([
  '-p',
  '--protocol',
  '-s',
  '--source',
  '--src',
  '-d',
  '--destination',
  '--dst',
  '-i',
  '--in-interface',
  '-o',
  '--out-interface',
  '-m',
  '--match',
  '-j',
  '--jump',
  '-g',
  '--goto',
  '-f',
  '--fragment',
]);

const KNOWN_MODULES = new Set(['comment', 'tcp', 'udp', 'sctp', 'addrtype', 'mark', 'conntrack', 'statistic', 'recent', 'nfacct']);

/** Options each known module owns (an option of another module is an opaque part of the rule). */
const MODULE_OPTIONS: Record<string, Set<string>> = {
  tcp: new Set(['--dport', '--destination-port', '--sport', '--source-port']),
  udp: new Set(['--dport', '--destination-port', '--sport', '--source-port']),
  sctp: new Set(['--dport', '--destination-port', '--sport', '--source-port']),
  addrtype: new Set(['--src-type', '--dst-type']),
  mark: new Set(['--mark']),
  conntrack: new Set(['--ctstate']),
  statistic: new Set(['--mode', '--probability']),
  recent: new Set(['--name', '--set', '--rcheck', '--update', '--remove', '--seconds', '--reap', '--mask', '--rsource', '--rdest']),
  nfacct: new Set(['--nfacct-name']),
};

const PORT_OPTIONS = new Set(['--dport', '--destination-port', '--sport', '--source-port']);
const l4 = (matches: Match[]) =>
  matches.some(
    (m) =>
      (m.kind === 'module' && MODULE_OPTIONS[m.name]?.has('--dport')) ||
      (m.kind === 'protocol' && !m.negate && ['tcp', 'udp', 'sctp', '6', '17', '132'].includes(m.protocol)),
  );

/**
 * Parses the words after "-A CHAIN" into matches and a target. The policy for what it does
 * not know: a match module it does not read (with its options), an option of a known module it
 * does not read, and a target it does not read (with its options) each stay in the rule as an
 * opaque element holding the exact text, so the rule prints back as it was and the tracer can
 * say which part it could not judge. `body` is the rule text the words came from (after
 * `-A CHAIN `); without it the opaque text is the words re-quoted.
 */
export function parseRuleWords(words: string[], lineNo: number, text: string, body?: string): Rule {
  const w = new Words(words, lineNo, text);
  const matches: Match[] = [];
  let target: Target | undefined;
  let module = ''; // the module whose options follow
  let recent: Extract<Match, { kind: 'recent' }> | undefined;
  let negate = false;
  let spans: Span[] | undefined | null = null;
  // The exact text of words [from, to).
  const textOf = (from: number, to: number): string => {
    if (spans === null) spans = body !== undefined ? tokenSpans(body) : undefined;
    if (spans && spans.length === words.length && spans.every((s, k) => s.word === words[k]))
      return body!.slice(spans[from]!.start, spans[to - 1]!.end);
    return words.slice(from, to).map(quoteWord).join(' ');
  };
  const isGenericAt = (k: number) => GENERIC.has(words[k]!) || (words[k] === '!' && k + 1 < words.length && GENERIC.has(words[k + 1]!));
  // Words from `from` up to the next generic option: one opaque match.
  const opaqueUntilGeneric = (from: number) => {
    let k = w.i;
    while (k < words.length && !isGenericAt(k)) k++;
    matches.push({ kind: 'other', text: textOf(from, k) });
    w.i = k;
  };
  // An unknown option of a known module, with its values (words not starting with "-").
  const opaqueOption = (from: number) => {
    let k = w.i;
    while (k < words.length && !words[k]!.startsWith('-') && words[k] !== '!') k++;
    matches.push({ kind: 'other', text: textOf(from, k) });
    w.i = k;
  };
  while (w.more()) {
    const at = w.i;
    const word = w.next('option');
    if (word === '!') {
      negate = true;
      continue;
    }
    const neg = negate;
    const from = neg ? at - 1 : at;
    negate = false;
    if (word === '-j' || word === '--jump' || word === '-g' || word === '--goto') {
      if (neg) {
        w.i = from;
        opaqueUntilGeneric(from);
        continue;
      }
      const tw = new Words(words.slice(w.i), lineNo, text);
      try {
        target = parseTarget(tw, tw.next('a target'), word === '-g' || word === '--goto');
      } catch (e) {
        if (!(e instanceof RuleError)) throw e;
        target = { kind: 'other', text: textOf(at, words.length) };
      }
      w.i = words.length;
      break;
    }
    if (word === '-m' || word === '--match') {
      if (neg || !w.more()) {
        opaqueUntilGeneric(from);
        continue;
      }
      module = w.next('a module name');
      recent = undefined;
      if (!KNOWN_MODULES.has(module)) {
        opaqueUntilGeneric(at);
        module = '';
        continue;
      }
      if (module === 'comment') {
        if (w.peek() !== '--comment' || w.i + 1 >= words.length) {
          opaqueUntilGeneric(at);
          continue;
        }
        w.next('--comment');
        matches.push({ kind: 'comment', text: w.next('comment text') });
      } else if (module === 'tcp' || module === 'udp' || module === 'sctp') {
        matches.push({ kind: 'module', name: module });
      }
      continue;
    }
    const generic = GENERIC.has(word);
    // --dport / --sport after -p tcp (or -m tcp) anywhere in the rule: iptables loads the
    // protocol's module implicitly, and old kube-proxy wrote -m comment between them.
    const owned = (MODULE_OPTIONS[module]?.has(word) ?? false) || (PORT_OPTIONS.has(word) && l4(matches));
    // The IR keeps negation only where it has a field for it; an option it cannot hold stays opaque.
    if ((!generic && !owned) || (neg && !NEGATABLE.has(word))) {
      opaqueOption(from);
      continue;
    }
    try {
      parseOption(word, neg, at, from);
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      w.i = at + 1;
      opaqueOption(from);
    }
  }
  if (negate) matches.push({ kind: 'other', text: '!' });
  return target ? { matches, target, source: { line: lineNo, text } } : { matches, source: { line: lineNo, text } };

  function parseOption(word: string, neg: boolean, at: number, from: number): void {
    switch (word) {
      case '-p':
      case '--protocol':
        matches.push({ kind: 'protocol', protocol: w.next('a protocol').toLowerCase(), negate: neg });
        break;
      case '-s':
      case '--source':
      case '--src':
        matches.push({ kind: 'source', cidr: w.next('an address'), negate: neg });
        break;
      case '-d':
      case '--destination':
      case '--dst':
        matches.push({ kind: 'destination', cidr: w.next('an address'), negate: neg });
        break;
      case '-i':
      case '--in-interface':
        matches.push({ kind: 'inInterface', name: w.next('an interface'), negate: neg });
        break;
      case '-o':
      case '--out-interface':
        matches.push({ kind: 'outInterface', name: w.next('an interface'), negate: neg });
        break;
      case '-f':
      case '--fragment':
        matches.push({ kind: 'other', text: textOf(from, w.i) });
        break;
      case '--dport':
      case '--destination-port':
        matches.push({ kind: 'dport', port: w.next('a port'), negate: neg });
        break;
      case '--sport':
      case '--source-port':
        matches.push({ kind: 'sport', port: w.next('a port'), negate: neg });
        break;
      case '--src-type':
      case '--dst-type':
        matches.push({ kind: 'addrtype', direction: word === '--src-type' ? 'src' : 'dst', type: w.next('an address type'), negate: neg });
        break;
      case '--mark':
        matches.push({ kind: 'mark', ...splitMark(w.next('a mark')), negate: neg });
        break;
      case '--ctstate':
        matches.push({ kind: 'conntrack', states: w.next('states').split(','), negate: neg });
        break;
      case '--mode':
        if (w.peek() !== 'random') {
          w.i = at + 1;
          opaqueOption(from);
        } else w.next('a mode');
        break;
      case '--probability':
        matches.push({ kind: 'statistic', probability: w.next('a probability') });
        break;
      case '--nfacct-name':
        matches.push({ kind: 'nfacct', name: w.next('a counter name') });
        break;
      default: {
        // -m recent's options.
        if (!recent) {
          recent = { kind: 'recent', name: 'DEFAULT', action: 'rcheck' };
          matches.push(recent);
        }
        if (word === '--name') recent.name = w.next('a list name');
        else if (word === '--seconds') recent.seconds = Number(w.next('seconds'));
        else if (word === '--reap') recent.reap = true;
        else if (word === '--mask') recent.mask = w.next('a mask');
        else if (word === '--rsource' || word === '--rdest') recent.side = word.slice(2) as 'rsource' | 'rdest';
        else recent.action = word.slice(2) as 'set' | 'rcheck' | 'update' | 'remove';
      }
    }
  }
}

/** A word as iptables-save would print it: quoted when it holds blanks or quotes, or is empty. */
function quoteWord(word: string): string {
  return /[\s"]/.test(word) || word === '' ? `"${word.replace(/(["\\])/g, '\\$1')}"` : word;
}

/** True for a rule that holds any part ktables could not read (kept as text). */
export function isOpaque(rule: Rule): boolean {
  return rule.target?.kind === 'other' || rule.matches.some((m) => m.kind === 'other');
}

/** A dump read: the rule set, what the reader assumed (notes) and where the text was incomplete. */
export interface ReadIptables {
  ruleset: IptablesRuleset;
  format: RulesFormat;
  notes: string[];
  warnings: string[];
}

/**
 * Reads iptables text in any form scan.ts knows (iptables-save, -c counters, iptables -S,
 * fragments, pastes). Tables and chains keep their order; counters are dropped. A `-X` marks a
 * chain as deleted (kube-proxy's stale chains).
 */
export function readIptables(text: string, family: Family = 'ipv4'): ReadIptables {
  return readScannedIptables(scanRules(text), family);
}

/** readIptables of a text scanRules has read already (readRules scans once to tell the format). */
export function readScannedIptables(scanned: Scanned, family: Family): ReadIptables {
  if (!scanned.tables) throw new RuleError(`not iptables rules: the text reads as ${FORMAT_NAMES[scanned.format]}`);
  const tables: Table[] = scanned.tables.map((t) => ({
    name: t.name,
    chains: t.chains.map((c): Chain => {
      const rules = c.rules.map((r) => parseRuleBody(r.body, r.line.line, r.line.text));
      return c.policy !== undefined ? { name: c.name, policy: c.policy, rules } : { name: c.name, rules };
    }),
    deleted: [...t.deleted],
  }));
  return { ruleset: { family, tables }, format: scanned.format, notes: scanned.notes, warnings: scanned.warnings };
}

/** One rule body (after `-A CHAIN `); a line whose quotes do not close is one opaque match. */
export function parseRuleBody(body: string, lineNo: number, text: string): Rule {
  const spans = tokenSpans(body);
  if (!spans) return { matches: [{ kind: 'other', text: body }], source: { line: lineNo, text } };
  return parseRuleWords(
    spans.map((s) => s.word),
    lineNo,
    text,
    body,
  );
}

const FORMAT_NAMES: Record<RulesFormat, string> = {
  'iptables-save': 'iptables-save output',
  'iptables-S': '`iptables -S` output',
  'iptables-fragment': 'iptables rule lines without a table',
  'nft-listing': 'an `nft list` listing',
  'nft-commands': 'nft commands (`nft -f` input)',
  manifests: 'Kubernetes manifests (YAML or JSON), not rules',
};

/** Reads a whole dump (see readIptables); the notes and warnings are dropped. */
export function parseIptables(text: string, family: Family = 'ipv4'): IptablesRuleset {
  return readIptables(text, family).ruleset;
}

/** Guesses the family of a dump from its addresses (ip6tables-save has ':' in them). */
export function guessIptablesFamily(text: string): Family {
  return /\s-[sd]\s+!?\s*[0-9a-fA-F]*:[0-9a-fA-F:]*/.test(text) || /--to-destination \[/.test(text) ? 'ipv6' : 'ipv4';
}

/** The family of a dump: IPv6 addresses say ipv6, IPv4 ones ipv4; a dump with neither is FALLBACK's. */
export function dumpFamily(text: string, fallback: Family): Family {
  if (guessIptablesFamily(text) === 'ipv6') return 'ipv6';
  return /\s-[sd]\s+(!\s*)?\d+\.\d+\.\d+\.\d+/.test(text) ? 'ipv4' : fallback;
}
