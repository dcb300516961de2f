// Reading the two sides of an nftables diff so that the work follows what changed, as
// diff/prefilter.ts does for iptables with chain-cache.ts: two dumps of 10,000 Services share
// all but a few dozen lines.
//
// Both texts are split into lines and each line is put with the object it adds, by the names
// kube-proxy gives them (kubeproxy/nftables-names.ts), without parsing. A service port whose
// objects have the same lines on both sides (its chains rule by rule, its map elements as a
// set) cannot make a difference, so its rules and map elements are left out of both sides;
// diff puts it back as a port with nothing to compare, so it is still there on both sides and
// counts as unchanged. Everything else is parsed as usual: the node-wide chains and sets, and
// every line of the ports that differ, so those are compared whole.
//
// Left-out lines become blank lines, so an error still names its line. Only the one-command-
// per-line dump form (`ktables compile`, knftables) is read this way; a listing, a text with
// other commands, truncated names or repeated element keys is read in full (undefined here).
import type { Chain, NftRuleset, Table } from '../ir/nftables.js';
import { KUBE_PROXY_TABLE } from '../ir/nftables.js';
import { detectNftRelease, type DetectedRelease } from '../kubeproxy/detect.js';
import { CLUSTER_IPS_SET, nftOwner, nftRoleOf, PORT_CHAIN_MAPS, PORT_COMMENT_MAPS } from '../kubeproxy/nftables-names.js';
import { parseNftables } from './nftables.js';
import type { Family } from '../util/ip.js';

// One element in the plain form the dump writes: `{ KEY [comment "C"] [: goto|jump CHAIN] }`.
const ELEMENT =
  /^\{ ([^\s{}",]+(?: \. [^\s{}",]+)*)(?: comment "([^"\\]*)")?(?: : (?:(?:goto|jump) (\S+)|accept|drop|return|continue))? \}$/;
// A command as the dump writes it: verb, object type, family, table and (but for a table) a name.
const COMMAND = /^add (table|chain|set|map|rule|element|counter) (ip|ip6|inet|arp|bridge|netdev) (\S+)(?: (\S+))?(?: |$)/;

interface Element {
  /** The key as written (`10.96.0.1 . tcp . 80`). */
  key: string;
  comment?: string | undefined;
  chain?: string | undefined;
}

interface Side {
  lines: string[];
  /** `add table` and set and map declarations of the compared table (what a rule may name). */
  header: number[];
  /** Per-service chains (by owner name): the declaration and rule lines, in order. */
  chains: Map<string, number[]>;
  /** Per-service sets (affinity): their declaration and element lines. */
  sets: Map<string, number[]>;
  /** Element lines of the compared table, by set (per-service sets' elements left out). */
  elements: Map<string, number[]>;
  /** Names with a role prefix that are no port's (fixed chains such as `service-endpoints-check`). */
  roleNamed: Set<string>;
  /** A per-service object's port, by name (null: no port's). */
  owner: Map<string, string | null>;
  /** Element lines read so far, by line index (null: not in the plain form). */
  parsed: Map<number, Element | null>;
}

const add = (m: Map<string, number[]>, k: string, i: number) => {
  const list = m.get(k);
  if (list) list.push(i);
  else m.set(k, [i]);
};

/** The lines of a text by object; undefined when the text is not in the plain dump form. */
function split(text: string, family: Family): Side | undefined {
  const table = `${family === 'ipv6' ? 'ip6' : 'ip'} ${KUBE_PROXY_TABLE}`;
  const side: Side = {
    lines: text.split('\n'),
    header: [],
    chains: new Map(),
    sets: new Map(),
    elements: new Map(),
    roleNamed: new Set(),
    owner: new Map(),
    parsed: new Map(),
  };
  const { lines, owner } = side;
  // The common lines, told by their start without a regular expression.
  const rule = `add rule ${table} `;
  const elementOf = `add element ${table} `;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '' || l[0] === '#') continue;
    let kind: string;
    let name: string | undefined;
    const quick = l.startsWith(rule) ? rule : l.startsWith(elementOf) ? elementOf : undefined;
    if (quick) {
      kind = quick === rule ? 'rule' : 'element';
      const end = l.indexOf(' ', quick.length);
      name = end < 0 ? l.slice(quick.length) : l.slice(quick.length, end);
      if (name === '' || /\s/.test(name)) return undefined;
    } else {
      const m = COMMAND.exec(l);
      if (!m) return undefined;
      if (`${m[2]} ${m[3]}` !== table) continue;
      kind = m[1]!;
      if (kind === 'table' || kind === 'counter') {
        side.header.push(i);
        continue;
      }
      name = m[4];
      if (name === undefined) return undefined;
    }
    let service = owner.get(name);
    if (service === undefined) {
      const role = nftRoleOf(name) !== undefined;
      owner.set(name, (service = (role && nftOwner(name)?.service) || null));
      if (role && service === null) {
        // A name kube-proxy truncated is attributed through the rules that reach it: read all.
        if (name.endsWith('...')) return undefined;
        side.roleNamed.add(name);
      }
    }
    const owned = service !== null;
    if (kind === 'chain' || kind === 'rule') {
      if (owned) add(side.chains, name, i);
    } else if (kind === 'set' || kind === 'map') {
      side.header.push(i);
      if (owned) add(side.sets, name, i);
    } else if (kind === 'element') {
      // A per-service set's elements go with its declaration (left out with it).
      add(owned ? side.sets : side.elements, name, i);
    } else return undefined;
  }
  return side;
}

/** The element of line `i`, when it is in the plain form. */
function element(s: Side, i: number): Element | undefined {
  let e = s.parsed.get(i);
  if (e === undefined) {
    const line = s.lines[i]!;
    const m = ELEMENT.exec(line.slice(line.indexOf('{')));
    s.parsed.set(i, (e = m ? { key: m[1]!, comment: m[2], chain: m[3] } : null));
  }
  return e ?? undefined;
}

const firstPart = (key: string) => key.split(' . ', 1)[0]!;

const text = (s: Side, at: number[] | undefined) => (at ? at.map((i) => s.lines[i]).join('\n') : undefined);

/** The element's port, as kubeproxy/nftables-owners.ts's elementOwner finds it; null: no port's. */
function ownerOf(s: Side, set: string, e: Element): string | null {
  if (PORT_CHAIN_MAPS.has(set) && e.chain !== undefined && (s.chains.has(e.chain) || s.sets.has(e.chain))) return s.owner.get(e.chain)!;
  if (PORT_COMMENT_MAPS.has(set) && e.comment) return e.comment;
  return null;
}

/**
 * The ports that hold each address in a 3-part element key (the cluster-ips set goes by those).
 * Undefined when an element that could hold one is not in the plain form.
 */
function holders(s: Side): Map<string, Set<string>> | undefined {
  const out = new Map<string, Set<string>>();
  // A key written twice keeps its last value (as nft does): which line wins must not change.
  const keys = new Set<string>();
  for (const [set, at] of s.elements) {
    // Only these maps' elements have an owner.
    if (!PORT_CHAIN_MAPS.has(set) && !PORT_COMMENT_MAPS.has(set)) continue;
    for (const i of at) {
      const e = element(s, i);
      if (!e) return undefined;
      const k = `${set} ${e.key}`;
      if (keys.has(k)) return undefined;
      keys.add(k);
      const parts = e.key.split(' . ');
      const owner = parts.length === 3 ? ownerOf(s, set, e) : null;
      if (owner === null) continue;
      let h = out.get(parts[0]!);
      if (!h) out.set(parts[0]!, (h = new Set()));
      h.add(owner);
    }
  }
  return out;
}

/** The lines (by index) of one side that the other does not have, counting repeats. */
function unmatched(a: Side, ia: number[], b: Side, ib: number[]): [number[], number[]] {
  const count = new Map<string, number>();
  for (const i of ia) count.set(a.lines[i]!, (count.get(a.lines[i]!) ?? 0) + 1);
  const onlyB: number[] = [];
  for (const i of ib) {
    const n = count.get(b.lines[i]!) ?? 0;
    if (n > 0) count.set(b.lines[i]!, n - 1);
    else onlyB.push(i);
  }
  const onlyA: number[] = [];
  for (let k = ia.length - 1; k >= 0; k--) {
    const l = a.lines[ia[k]!]!;
    const n = count.get(l)!;
    if (n > 0) {
      onlyA.push(ia[k]!);
      count.set(l, n - 1);
    }
  }
  return [onlyA, onlyB];
}

/** The ports whose lines differ; undefined when an element that tells is not in the plain form. */
function differingPorts(a: Side, b: Side, held: [Map<string, Set<string>>, Map<string, Set<string>>]): Set<string> | undefined {
  const differ = new Set<string>();
  for (const kind of ['chains', 'sets'] as const)
    for (const name of new Set([...a[kind].keys(), ...b[kind].keys()]))
      if (text(a, a[kind].get(name)) !== text(b, b[kind].get(name))) differ.add((a.owner.get(name) ?? b.owner.get(name))!);
  for (const set of new Set([...a.elements.keys(), ...b.elements.keys()])) {
    const [onlyA, onlyB] = unmatched(a, a.elements.get(set) ?? [], b, b.elements.get(set) ?? []);
    for (const [s, only] of [
      [a, onlyA],
      [b, onlyB],
    ] as const) {
      for (const i of only) {
        const e = element(s, i);
        if (!e) {
          if (PORT_CHAIN_MAPS.has(set) || PORT_COMMENT_MAPS.has(set) || set === CLUSTER_IPS_SET) return undefined;
          continue;
        }
        if (set === CLUSTER_IPS_SET) {
          for (const h of held) for (const p of h.get(firstPart(e.key)) ?? []) differ.add(p);
          continue;
        }
        const owner = ownerOf(s, set, e);
        if (owner !== null) differ.add(owner);
      }
    }
  }
  return differ;
}

interface Reduced {
  text: string;
  /** The left-out chains' rule lines, by chain. */
  dropped: Map<string, number[]>;
  /** The ports left out whole (the same on both sides). */
  unchanged: Set<string>;
}

/** The text with the lines of unchanged ports blanked. */
function reduce(s: Side, differ: Set<string>, held: Map<string, Set<string>>): Reduced | undefined {
  const keep = s.lines.slice();
  const dropped = new Map<string, number[]>();
  const unchanged = new Set<string>();
  const roleNamed =
    s.roleNamed.size > 0 ? new RegExp([...s.roleNamed].map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')) : undefined;
  for (const [name, at] of s.chains) {
    const port = s.owner.get(name)!;
    if (differ.has(port)) continue;
    const rules: number[] = [];
    for (const i of at) {
      const l = s.lines[i]!;
      if (l.startsWith('add rule ')) {
        // A rule that reaches a fixed role-named object would attribute it to this port.
        if (roleNamed?.test(l)) return undefined;
        rules.push(i);
      }
      keep[i] = '';
    }
    dropped.set(name, rules);
    unchanged.add(port);
  }
  for (const [name, at] of s.sets) {
    const port = s.owner.get(name)!;
    if (differ.has(port)) continue;
    for (const i of at) keep[i] = '';
    unchanged.add(port);
  }
  for (const [set, at] of s.elements) {
    if (!PORT_CHAIN_MAPS.has(set) && set !== CLUSTER_IPS_SET) continue;
    for (const i of at) {
      const e = element(s, i);
      if (!e) continue;
      if (set === CLUSTER_IPS_SET) {
        const h = held.get(firstPart(e.key));
        if (h && h.size > 0 && [...h].every((p) => !differ.has(p))) keep[i] = '';
      } else {
        const owner = ownerOf(s, set, e);
        if (owner !== null && !differ.has(owner)) keep[i] = '';
      }
    }
  }
  return { text: keep.join('\n'), dropped, unchanged };
}

/** The release as read from the whole table: the left-out chains are parsed if the shape test asks for their rules. */
function release(s: Side, table: Table | undefined, dropped: Map<string, number[]>): DetectedRelease | undefined {
  if (!table) return undefined;
  const head = s.header.map((i) => s.lines[i]).join('\n');
  const lazy = [...dropped].map(([name, at]): Chain => {
    let rules: Chain['rules'] | undefined;
    const read = () => {
      const lines = s.chains.get(name)!.map((i) => s.lines[i]);
      return parseNftables(`${head}\n${lines.join('\n')}\n`)
        .tables.find((t) => t.family === table.family && t.name === table.name)!
        .chains.find((x) => x.name === name)!.rules;
    };
    return {
      name,
      get rules() {
        return at.length === 0 ? [] : (rules ??= read());
      },
    };
  });
  return detectNftRelease({ ...table, chains: [...table.chains, ...lazy] });
}

export interface NftPairSide {
  ruleset: NftRuleset;
  /** Service ports left out because they are the same on both sides: present, unchanged. */
  unchanged: Set<string>;
  /** The release the whole text shows (the reduced rule set may lack the rules that tell). */
  release: DetectedRelease | undefined;
}

/**
 * Both texts read with the unchanged ports' rules and elements left out; undefined when a text
 * is not in the form this reads (read it in full then). `parse` reads one side's text (the
 * caller names the file in its errors).
 */
export function readNftablesPair(
  oldText: string,
  newText: string,
  families: [Family, Family],
  parse: (side: 0 | 1, text: string) => NftRuleset = (_, t) => parseNftables(t),
): [NftPairSide, NftPairSide] | undefined {
  const a = split(oldText, families[0]);
  const b = a && split(newText, families[1]);
  if (!a || !b) return undefined;
  const ha = holders(a);
  const hb = holders(b);
  if (!ha || !hb) return undefined;
  const differ = differingPorts(a, b, [ha, hb]);
  if (!differ) return undefined;
  const ra = reduce(a, differ, ha);
  const rb = ra && reduce(b, differ, hb);
  if (!ra || !rb) return undefined;
  const out = ([a, b] as const).map((s, i): NftPairSide => {
    const r = i === 0 ? ra : rb;
    const ruleset = parse(i as 0 | 1, r.text);
    const want = families[i] === 'ipv6' ? 'ip6' : 'ip';
    const table = ruleset.tables.find((t) => t.name === KUBE_PROXY_TABLE && t.family === want);
    return { ruleset, unchanged: r.unchanged, release: release(s, table, r.dropped) };
  });
  return [out[0]!, out[1]!];
}
