// Whose are the KUBE-* chains of a node's dump? kube-proxy's fixed chains have fixed names; its
// per-Service chains are a prefix plus 16 base32 characters of a SHA-256 of the service port
// (and endpoint) their comments name, so a chain whose hash matches its comment is kube-proxy's.
// Other software uses KUBE-* names too (kube-router, the k3s default: KUBE-ROUTER-*,
// KUBE-NWPLCY-*, KUBE-POD-FW-*): those are someone else's. A node in ipvs mode is recognised by
// its ipset matches (KUBE-LOOP-BACK, KUBE-CLUSTER-IP ...): Service routing is in IPVS there.
import type { Chain, IptablesRuleset, Rule } from '../ir/iptables.js';
import { BUILTIN_CHAINS, ruleComment } from '../ir/iptables.js';
import { hashPrefix } from '../util/hash.js';
import { LazyChain } from './lazy-iptables.js';
import { FIXED_KUBE_CHAINS, isOthersKubeChain, KUBE_POSTROUTING, KUBE_SERVICES } from '../kubeproxy/iptables-names.js';

const HASHED = /^KUBE-(SVC|SVL|EXT|FW|SEP|XLB)-([A-Z2-7]{16})$/;

interface Ownership {
  /** Chains named KUBE-* that are not kube-proxy's, as "table chain (owner)". */
  others: string[];
  /** kube-proxy-style hashed chains whose hash does not match the service port their comments name. */
  mismatched: string[];
  /** Set when the node runs kube-proxy in ipvs mode. */
  ipvs?: string;
}

function chainOwner(name: string): string | undefined {
  if (FIXED_KUBE_CHAINS.has(name) || HASHED.test(name)) return undefined;
  if (isOthersKubeChain(name)) return "kube-router's";
  return 'not a kube-proxy chain name';
}

/** The service port (and endpoint) a hashed chain's comments name; true if the hash matches. */
function hashMatches(kind: string, hash: string, chain: Chain): boolean | undefined {
  const names = new Set<string>();
  const endpoints = new Set<string>();
  const lazy = chain instanceof LazyChain ? chain : undefined;
  const count = lazy ? lazy.ruleCount : chain.rules.length;
  // Large-cluster mode writes no comments: such a chain says nothing, whatever its rules are.
  if (lazy && !anyComment(lazy)) return undefined;
  // A match found among the first rules is a match among all of them: stop there. The sets are
  // tested whenever they grow, so at the end their last state has been tested.
  for (let i = 0; i < count; i++) {
    const grew = lazy ? lazyNames(lazy, i, kind, names, endpoints) : ruleNames(chain.rules[i]!, names, endpoints);
    if (!grew || names.size === 0 || (kind === 'SEP' && endpoints.size === 0)) continue;
    if (matchesHash(kind, hash, names, endpoints)) return true;
  }
  if (names.size === 0 || (kind === 'SEP' && endpoints.size === 0)) return undefined;
  return false;
}

/** Adds the service ports a rule's comment names and its DNAT destination; true if it added any. */
function ruleNames(r: Rule, names: Set<string>, endpoints: Set<string>): boolean {
  const before = names.size + endpoints.size;
  const c = ruleComment(r);
  // kube-proxy's comments name the service port: "ns/name:port", "... external destinations".
  for (const w of c?.split(' ') ?? []) if (SERVICE_PORT.test(w)) names.add(w);
  if (r.target?.kind === 'DNAT') endpoints.add(r.target.to);
  return names.size + endpoints.size > before;
}

const SERVICE_PORT = /^[a-z0-9.-]+\/[a-z0-9.-]+(:[a-z0-9-]*)?$/;

/** Whether any rule line could hold a comment (its words are the text's unless it has quotes or backslashes). */
function anyComment(c: LazyChain): boolean {
  return c.mentions(COMMENT_SIGNS);
}

const COMMENT_SIGNS = ['comment', '"', '\\'];
const mayComment = (text: string): boolean => COMMENT_SIGNS.some((w) => text.includes(w));

// kube-proxy's comment is the first thing in a rule: read it from the text when the words are
// plainly the text's (no backslash, no other quote), else from the parsed rule.
const COMMENT_FIRST = '-m comment --comment "';

/** ruleNames for rule I of a lazy chain, parsing the rule only when its text does not say plainly. */
function lazyNames(c: LazyChain, i: number, kind: string, names: Set<string>, endpoints: Set<string>): boolean {
  const body = c.body(i);
  const plain = !body.includes('\\');
  // An endpoint chain's DNAT rule is parsed for its destination.
  if (plain && (kind !== 'SEP' || !body.includes('DNAT')) && body.startsWith(COMMENT_FIRST)) {
    const close = body.indexOf('"', COMMENT_FIRST.length);
    const after = body.charCodeAt(close + 1);
    if (close > 0 && body.indexOf('"', close + 1) < 0 && (close + 1 === body.length || after === 0x20 || after === 0x09)) {
      const before = names.size;
      for (const w of body.slice(COMMENT_FIRST.length, close).split(' ')) if (SERVICE_PORT.test(w)) names.add(w);
      return names.size > before;
    }
  }
  if (plain && !mayComment(body) && (kind !== 'SEP' || !body.includes('DNAT'))) return false;
  return ruleNames(c.rule(i), names, endpoints);
}

function matchesHash(kind: string, hash: string, names: Set<string>, endpoints: Set<string>): boolean {
  for (const name of names) {
    for (const proto of ['tcp', 'udp', 'sctp']) {
      if (kind === 'SEP') {
        for (const ep of endpoints) if (hashPrefix(name + proto + ep, 16) === hash) return true;
      } else if (hashPrefix(name + proto, 16) === hash) return true;
    }
  }
  return false;
}

function ownership(rs: IptablesRuleset): Ownership {
  const others: string[] = [];
  const mismatched: string[] = [];
  let ipvs: string | undefined;
  for (const t of rs.tables) {
    for (const c of t.chains) {
      if (BUILTIN_CHAINS[t.name]?.includes(c.name)) continue;
      if (c.name.startsWith('KUBE-')) {
        const owner = chainOwner(c.name);
        if (owner) others.push(`${t.name} ${c.name} (${owner})`);
        const h = HASHED.exec(c.name);
        if (h && hashMatches(h[1]!, h[2]!, c) === false) mismatched.push(`${t.name} ${c.name}`);
      }
      if (
        !ipvs &&
        (c.name === KUBE_SERVICES || c.name === KUBE_POSTROUTING || c.name === 'KUBE-NODE-PORT' || c.name === 'KUBE-LOAD-BALANCER')
      ) {
        const lazy = c instanceof LazyChain ? c : undefined;
        // Only a rule whose text names a set can match one: the others need no parse.
        const count = lazy ? lazy.ruleCount : c.rules.length;
        for (let i = 0; i < count; i++) {
          if (lazy && !lazy.lineText(i).includes('--match-set')) continue;
          const r = lazy ? lazy.rule(i) : c.rules[i]!;
          const set = r.matches.find((m) => m.kind === 'other' && /--match-set\s+KUBE-[A-Z-]+/.test(m.text));
          if (set && set.kind === 'other') {
            const name = /--match-set\s+(KUBE-[A-Z0-9-]+)/.exec(set.text)![1]!;
            ipvs = `${t.name} ${c.name} matches ipset ${name} (line ${r.source?.line ?? '?'})`;
            break;
          }
        }
      }
    }
  }
  return ipvs ? { others, mismatched, ipvs } : { others, mismatched };
}

/** The notes a command prints about a dump's ownership. */
export function ownershipNotes(rs: IptablesRuleset): string[] {
  const o = ownership(rs);
  const notes: string[] = [];
  if (o.ipvs)
    notes.push(`kube-proxy runs in ipvs mode on this node (${o.ipvs}): Service routing is in IPVS (ipvsadm -Ln), not in these rules`);
  if (o.others.length > 0) notes.push(`KUBE-* chains that are not kube-proxy's: ${list(o.others)}`);
  if (o.mismatched.length > 0)
    notes.push(`chains named like kube-proxy's whose hash does not match the service port their comments name: ${list(o.mismatched)}`);
  return notes;
}

function list(items: string[]): string {
  return items.length > 6 ? `${items.slice(0, 6).join(', ')}, ... (${items.length} in all)` : items.join(', ');
}
