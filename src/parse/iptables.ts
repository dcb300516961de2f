// iptables-save / iptables-restore text → the rule-set IR. Accepts kube-proxy's restore input
// and what iptables-save prints back on a node (-d 1.2.3.4/32, options in another order,
// `-m tcp` after `-p tcp`, quoted comments, counters). Anything it cannot read is an error
// naming the line, never a silent guess.
import { RuleError } from '../errors.js';
import type { Chain, IptablesRuleset, Match, Rule, Table, Target } from '../ir/iptables.js';

/** Splits a rule line into words, honouring "double quotes" and backslash escapes as iptables does. */
export function tokenize(line: string, lineNo: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
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
    if (quoted) throw new RuleError(`line ${lineNo}: unterminated quote`);
    out.push(word);
  }
  return out;
}

class Words {
  i = 0;
  constructor(readonly words: string[], readonly lineNo: number, readonly text: string) {}
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
    throw new RuleError(`line ${this.lineNo}: ${message}: ${this.text}`);
  }
}

const MARK_TARGET_OPS: Record<string, 'or' | 'xor' | 'set-xmark' | 'set' | 'and'> = {
  '--or-mark': 'or',
  '--xor-mark': 'xor',
  '--set-xmark': 'set-xmark',
  '--set-mark': 'set',
  '--and-mark': 'and',
};

function parseTarget(w: Words, name: string, isGoto: boolean): Target {
  if (isGoto) return { kind: 'goto', chain: name };
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return { kind: name };
    case 'REJECT': {
      if (w.peek() === '--reject-with') {
        w.next('--reject-with');
        return { kind: 'REJECT', rejectWith: w.next('a reject type') };
      }
      return { kind: 'REJECT' };
    }
    case 'DNAT':
    case 'SNAT': {
      const opt = w.next(name === 'DNAT' ? '--to-destination' : '--to-source');
      if (opt !== '--to-destination' && opt !== '--to-source') w.fail(`unexpected ${opt} after -j ${name}`);
      const to = w.next('an address');
      return name === 'DNAT' ? { kind: 'DNAT', to } : { kind: 'SNAT', to };
    }
    case 'MARK': {
      const opt = w.next('a MARK option');
      const op = MARK_TARGET_OPS[opt];
      if (!op) w.fail(`unknown MARK option ${opt}`);
      return { kind: 'MARK', op, value: w.next('a mark value') };
    }
    case 'MASQUERADE': {
      const t: Target = { kind: 'MASQUERADE' };
      while (w.more() && w.peek()!.startsWith('--')) {
        const opt = w.next('option');
        if (opt === '--random-fully') t.randomFully = true;
        else if (opt === '--to-ports') t.toPorts = w.next('ports');
        else if (opt === '--random') continue;
        else w.fail(`unknown MASQUERADE option ${opt}`);
      }
      return t;
    }
    default:
      // A user chain (iptables cannot tell us; a name that is not a known target is a chain).
      if (/^[A-Z]+$/.test(name) && !name.startsWith('KUBE') && w.more()) {
        const rest: string[] = [];
        while (w.more()) rest.push(w.next('option'));
        return { kind: 'other', text: `-j ${name} ${rest.join(' ')}` };
      }
      return { kind: 'jump', chain: name };
  }
}

function splitMark(v: string): { value: string; mask?: string } {
  const slash = v.indexOf('/');
  return slash < 0 ? { value: v } : { value: v.slice(0, slash), mask: v.slice(slash + 1) };
}

const NEGATABLE = new Set([
  '-p', '--protocol', '-s', '--source', '--src', '-d', '--destination', '--dst', '-i', '--in-interface', '-o', '--out-interface',
  '--dport', '--destination-port', '--sport', '--source-port', '--src-type', '--dst-type', '--mark', '--ctstate',
]);

/** Parses the words after "-A CHAIN" into matches and a target. */
export function parseRuleWords(words: string[], lineNo: number, text: string): Rule {
  const w = new Words(words, lineNo, text);
  const matches: Match[] = [];
  let target: Target | undefined;
  let module = ''; // the module whose options follow
  let recent: Extract<Match, { kind: 'recent' }> | undefined;
  let negate = false;
  while (w.more()) {
    const word = w.next('option');
    if (word === '!') {
      negate = true;
      continue;
    }
    const neg = negate;
    negate = false;
    // The IR keeps negation only where it has a field for it; dropping a "!" would silently
    // turn the rule into its opposite.
    if (neg && !NEGATABLE.has(word)) w.fail(`"! ${word}" is not supported`);
    switch (word) {
      case '-m':
      case '--match': {
        module = w.next('a module name');
        recent = undefined;
        if (module === 'comment') {
          if (w.next('--comment') !== '--comment') w.fail('expected --comment');
          matches.push({ kind: 'comment', text: w.next('comment text') });
        } else if (module === 'tcp' || module === 'udp' || module === 'sctp') {
          matches.push({ kind: 'module', name: module });
        } else if (!['addrtype', 'mark', 'conntrack', 'statistic', 'recent', 'nfacct'].includes(module)) {
          w.fail(`unsupported match module -m ${module}`);
        }
        break;
      }
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
        if (module !== 'addrtype') w.fail(`${word} outside -m addrtype`);
        matches.push({ kind: 'addrtype', direction: word === '--src-type' ? 'src' : 'dst', type: w.next('an address type'), negate: neg });
        break;
      case '--mark':
        if (module !== 'mark') w.fail('--mark outside -m mark');
        matches.push({ kind: 'mark', ...splitMark(w.next('a mark')), negate: neg });
        break;
      case '--ctstate':
        if (module !== 'conntrack') w.fail('--ctstate outside -m conntrack');
        matches.push({ kind: 'conntrack', states: w.next('states').split(','), negate: neg });
        break;
      case '--mode':
        if (module !== 'statistic') w.fail('--mode outside -m statistic');
        if (w.next('a mode') !== 'random') w.fail('only --mode random is supported');
        break;
      case '--probability':
        if (module !== 'statistic') w.fail('--probability outside -m statistic');
        matches.push({ kind: 'statistic', probability: w.next('a probability') });
        break;
      case '--nfacct-name':
        matches.push({ kind: 'nfacct', name: w.next('a counter name') });
        break;
      case '--name':
      case '--set':
      case '--rcheck':
      case '--update':
      case '--remove':
      case '--seconds':
      case '--reap':
      case '--mask':
      case '--rsource':
      case '--rdest': {
        if (module !== 'recent') w.fail(`${word} outside -m recent`);
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
        break;
      }
      case '-j':
      case '--jump':
      case '-g':
      case '--goto':
        target = parseTarget(w, w.next('a target'), word === '-g' || word === '--goto');
        break;
      default:
        w.fail(`unsupported option ${word}`);
    }
  }
  return target ? { matches, target, source: { line: lineNo, text } } : { matches, source: { line: lineNo, text } };
}

/**
 * Parses a whole dump. Tables and chains keep their order; counters are dropped. A `-X` marks
 * a chain as deleted (kube-proxy's stale chains).
 */
export function parseIptables(text: string, family: 'ipv4' | 'ipv6' = 'ipv4'): IptablesRuleset {
  const tables: Table[] = [];
  let table: Table | undefined;
  let chains = new Map<string, Chain>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (table) throw new RuleError(`line ${lineNo}: table ${line.slice(1)} starts before COMMIT of ${table.name}`);
      table = { name: line.slice(1), chains: [], deleted: [] };
      chains = new Map();
      continue;
    }
    if (!table) throw new RuleError(`line ${lineNo}: rule outside a table (missing *filter / *nat): ${line}`);
    if (line === 'COMMIT') {
      tables.push(table);
      table = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)/.exec(line);
      if (!m) throw new RuleError(`line ${lineNo}: bad chain declaration: ${line}`);
      if (!chains.has(m[1]!)) {
        const chain: Chain = m[2] === '-' ? { name: m[1]!, rules: [] } : { name: m[1]!, policy: m[2]!, rules: [] };
        chains.set(chain.name, chain);
        table.chains.push(chain);
      }
      continue;
    }
    let words = tokenize(line, lineNo);
    if (words[0]?.startsWith('[')) words = words.slice(1); // iptables-save -c counters
    const op = words[0];
    if (op === '-X') {
      table.deleted.push(words[1] ?? '');
      continue;
    }
    if (op !== '-A' && op !== '--append') throw new RuleError(`line ${lineNo}: expected -A, -X, a chain or COMMIT: ${line}`);
    const name = words[1];
    if (!name) throw new RuleError(`line ${lineNo}: -A without a chain`);
    let chain = chains.get(name);
    if (!chain) throw new RuleError(`line ${lineNo}: chain ${name} is not declared in table ${table.name}`);
    chain.rules.push(parseRuleWords(words.slice(2), lineNo, line));
  }
  if (table) throw new RuleError(`table ${table.name} has no COMMIT`);
  return { family, tables };
}

/** Guesses the family of a dump from its addresses (ip6tables-save has ':' in them). */
export function guessIptablesFamily(text: string): 'ipv4' | 'ipv6' {
  return /\s-[sd]\s+!?\s*[0-9a-fA-F]*:[0-9a-fA-F:]*/.test(text) || /--to-destination \[/.test(text) ? 'ipv6' : 'ipv4';
}
