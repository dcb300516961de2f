// IR → iptables-restore text, in kube-proxy's spelling of every option.
import type { IptablesRuleset, Match, Rule, Target } from '../ir/iptables.js';
import { EmittedLines } from './lines.js';

function quote(text: string): string {
  return /[\s"]/.test(text) || text === '' ? `"${text}"` : text;
}

const not = (negate: boolean | undefined) => (negate ? '! ' : '');

export function formatMatch(m: Match): string {
  switch (m.kind) {
    case 'comment':
      return `-m comment --comment ${quote(m.text)}`;
    case 'module':
      return `-m ${m.name}`;
    case 'protocol':
      return `${not(m.negate)}-p ${m.protocol}`;
    case 'source':
      return `${not(m.negate)}-s ${m.cidr}`;
    case 'destination':
      return `${not(m.negate)}-d ${m.cidr}`;
    case 'dport':
      return `${not(m.negate)}--dport ${m.port}`;
    case 'sport':
      return `${not(m.negate)}--sport ${m.port}`;
    case 'inInterface':
      return `${not(m.negate)}-i ${m.name}`;
    case 'outInterface':
      return `${not(m.negate)}-o ${m.name}`;
    case 'addrtype':
      return `-m addrtype ${not(m.negate)}--${m.direction}-type ${m.type}`;
    case 'mark':
      return `-m mark ${not(m.negate)}--mark ${m.mask ? `${m.value}/${m.mask}` : m.value}`;
    case 'conntrack':
      return `-m conntrack ${not(m.negate)}--ctstate ${m.states.join(',')}`;
    case 'statistic':
      return `-m statistic --mode random --probability ${m.probability}`;
    case 'recent': {
      let s = `-m recent --name ${m.name} --${m.action}`;
      if (m.seconds !== undefined) s += ` --seconds ${m.seconds}`;
      if (m.reap) s += ' --reap';
      if (m.mask) s += ` --mask ${m.mask}`;
      if (m.side) s += ` --${m.side}`;
      return s;
    }
    case 'nfacct':
      return `-m nfacct --nfacct-name ${m.name}`;
    case 'other':
      return m.text;
  }
}

function formatTarget(t: Target): string {
  switch (t.kind) {
    case 'jump':
      return `-j ${t.chain}`;
    case 'goto':
      return `-g ${t.chain}`;
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return `-j ${t.kind}`;
    case 'REJECT':
      return t.rejectWith ? `-j REJECT --reject-with ${t.rejectWith}` : '-j REJECT';
    case 'DNAT':
      return `-j DNAT --to-destination ${t.to}`;
    case 'SNAT':
      return `-j SNAT --to-source ${t.to}`;
    case 'MARK':
      // iptables spells --set-xmark without the -mark suffix the other operations have.
      return `-j MARK --${t.op === 'set-xmark' ? 'set-xmark' : `${t.op}-mark`} ${t.value}`;
    case 'MASQUERADE':
      return `-j MASQUERADE${t.toPorts ? ` --to-ports ${t.toPorts}` : ''}${t.randomFully ? ' --random-fully' : ''}`;
    case 'other':
      return t.text;
  }
}

// Each match and target is formatted where it is printed. (A WeakMap cache of their text cost
// more than it saved: half a million entries make every garbage collection slow.) Only what a
// backend shares between many rules, and freezes to say so, keeps its text: a few match lists
// and targets per rule set (the protocol pair of every endpoint's DNAT, each step of the
// probability ladder, the jump to KUBE-MARK-MASQ), each used up to ~10^5 times.
const matchString = formatMatch;
const sharedText = new WeakMap<object, string>();

function targetString(t: Target): string {
  if (!Object.isFrozen(t)) return formatTarget(t);
  let text = sharedText.get(t);
  if (text === undefined) sharedText.set(t, (text = formatTarget(t)));
  return text;
}

function matchesText(matches: readonly Match[]): string {
  let out = '';
  for (const m of matches) out += out === '' ? matchString(m) : ` ${matchString(m)}`;
  return out;
}

function matchesString(matches: readonly Match[]): string {
  if (!Object.isFrozen(matches)) return matchesText(matches);
  let text = sharedText.get(matches);
  if (text === undefined) sharedText.set(matches, (text = matchesText(matches)));
  return text;
}

/** The rule's text after "-A CHAIN". */
export function formatRuleBody(rule: Rule): string {
  let out = matchesString(rule.matches);
  if (rule.target) out += out === '' ? targetString(rule.target) : ` ${targetString(rule.target)}`;
  return out;
}

export function formatRule(chain: string, rule: Rule): string {
  const body = formatRuleBody(rule);
  return body ? `-A ${chain} ${body}` : `-A ${chain}`;
}

// Output is produced in pieces of about this many characters, so a large rule set is never
// held as one giant string: the writer streams each piece out as it comes.
const CHUNK = 1 << 16;

/**
 * Where emitIptablesChunks writes each chain declaration and rule, recorded in LINES. The
 * layout is counts only (every declaration and rule is one line), so no text is made for it;
 * it mirrors the writing loop below, and a test holds the two together.
 */
export function layOutIptables(rs: IptablesRuleset, lines: EmittedLines = new EmittedLines()): EmittedLines {
  let line = 0;
  for (const table of rs.tables) {
    const declarations = line + 1; // after "*table"
    line = declarations + table.chains.length;
    table.chains.forEach((c, k) => {
      lines.addChain(c, declarations + k + 1, line + 1);
      line += c.rules.length;
    });
    line += table.deleted.length + 1; // -X lines, COMMIT
  }
  return lines;
}

/**
 * The whole iptables-restore payload, in pieces: per table, declarations, rules by chain, -X,
 * COMMIT. Given LINES, it records where each chain and rule lands.
 */
export function* emitIptablesChunks(rs: IptablesRuleset, lines?: EmittedLines): Generator<string, void, undefined> {
  if (lines) layOutIptables(rs, lines);
  let out = '';
  for (const table of rs.tables) {
    out += `*${table.name}\n`;
    for (const c of table.chains) {
      out += `:${c.name} ${c.policy ?? '-'} [0:0]\n`;
      if (out.length >= CHUNK) {
        yield out;
        out = '';
      }
    }
    for (const c of table.chains) {
      const prefix = `-A ${c.name}`;
      for (const r of c.rules) {
        const body = formatRuleBody(r);
        out += body ? `${prefix} ${body}\n` : `${prefix}\n`;
        if (out.length >= CHUNK) {
          yield out;
          out = '';
        }
      }
    }
    for (const name of table.deleted) out += `-X ${name}\n`;
    out += 'COMMIT\n';
  }
  if (out !== '') yield out;
}

/** The whole iptables-restore payload as one string (for tools that work on the text). */
export function emitIptables(rs: IptablesRuleset, lines?: EmittedLines): string {
  let out = '';
  for (const piece of emitIptablesChunks(rs, lines)) out += piece;
  return out;
}
