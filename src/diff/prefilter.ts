// Reading the two sides of an iptables diff so that the work follows what changed, not the size
// of the rule sets: two dumps of 10,000 Services share all but a few hundred of their lines.
//
// Both texts are first split into chains without parsing (parse/chain-cache.ts). A
// per-service chain (KUBE-SVC/SVL/EXT/FW/SEP) whose lines are the same text on both sides has
// the same rules on both sides and cannot make a difference by itself, so it stays unparsed
// unless its service port turns out to differ. Everything else is read: the shared chains
// (whose rules name every service port), the node-wide chains, the per-service chains that
// differ and those that name them, and the chains nothing jumps to. Splitting those by service
// port (kubeproxy/iptables-ports.ts) gives the ports that differ; all their chains are then read
// on both sides, by name (kube-proxy's hashed names, the chains they jump to, and the chains
// that jump to a changed one), so that each differing service port is compared whole.
//
// The result is two smaller rule sets that the ordinary adapter and compare handle exactly as
// the full ones: a service port that does not differ still appears, through its rules in the
// shared chains, and counts as unchanged.
import type { IptablesRuleset, Rule } from '../ir/iptables.js';
import { targetChain } from '../ir/iptables.js';
import { portChainNames, roleOf } from '../kubeproxy/iptables-names.js';
import { iptablesPorts } from '../kubeproxy/iptables-ports.js';
import { rawKey } from '../ir/iptables-key.js';
import type { ScannedTable } from '../parse/scan.js';
import type { DiffRun } from './run.js';
import { chainRules, chainText, forEachBody, scanIptables, toRuleset } from '../parse/chain-cache.js';
import type { RuleCache, ScannedChain, ScannedRules } from '../parse/chain-cache.js';
import type { Family } from '../util/ip.js';

/** Whether a chain is one service port's own (the only kind left unread when unchanged). */
function perService(table: string, chain: string): boolean {
  return table === 'nat' && roleOf(chain) !== undefined;
}

function sameText(x: ScannedChain | undefined, y: ScannedChain | undefined, cache: RuleCache): boolean {
  if (!x || !y) return !x && !y;
  return x.policy === y.policy && chainText(x, cache) === chainText(y, cache);
}

/** Chains read whatever they hold: all but the per-service ones. */
const always = (table: string, chain: string) => !perService(table, chain);

const natChains = (s: ScannedRules): ReadonlyMap<string, ScannedChain> => {
  const nat = s.tables.find((t) => t.name === 'nat');
  return nat?.byName ?? new Map((nat?.chains ?? []).map((c) => [c.name, c]));
};

/** The chains `always` picks and those named in `wanted`, parsed. */
const materialize = (s: ScannedRules, wanted: Set<string>, cache: RuleCache) =>
  toRuleset(s, cache, (table, chain) => always(table, chain) || wanted.has(chain));

/**
 * Which nat chains other chains name, read from the text: `jumpedTo` gets the targets of jumps
 * (kube-proxy writes the target last), `edges` a (named, naming) pair for each chain a service
 * chain names, by a jump or in `recent --name`. Endpoint chains name no other service chain and
 * are skipped; a reference missed here only makes a chain be read.
 */
function references(chains: Iterable<ScannedChain>, jumpedTo: Set<string>, edges: string[], skip?: (c: ScannedChain) => boolean): void {
  for (const c of chains) {
    if (roleOf(c.name) === 'SEP' || skip?.(c)) continue;
    const service = perService('nat', c.name);
    forEachBody(c, (text, start, end) => {
      // The last ` -j ` (else ` -g `) within the body, else one at its start.
      const last = (what: string) => {
        const i = text.lastIndexOf(what, end - what.length);
        return i >= start ? i : -1;
      };
      let at = last(' -j ');
      if (at < 0) at = last(' -g ');
      if (at >= 0) at += 1;
      else if (text.startsWith('-j ', start) || text.startsWith('-g ', start)) at = start;
      if (at >= 0 && at + 3 <= end) {
        let stop = text.indexOf(' ', at + 3);
        if (stop < 0 || stop > end) stop = end;
        const name = text.slice(at + 3, stop);
        if (name !== c.name) jumpedTo.add(name);
        if (service) edges.push(name, c.name);
      }
      if (!service) return;
      const named = text.indexOf('--name', start);
      const recent = named >= 0 && named < end ? /--name\s+(\S+)/.exec(text.slice(start, end)) : null;
      if (recent) edges.push(recent[1]!, c.name);
    });
  }
}

export function readIptablesPair(
  oldText: string,
  newText: string,
  families: [Family, Family],
  cache: DiffRun,
  scanned: [ScannedTable[] | undefined, ScannedTable[] | undefined] = [undefined, undefined],
): [IptablesRuleset, IptablesRuleset] {
  const a = scanIptables(oldText, families[0], scanned[0]);
  const b = scanIptables(newText, families[1], scanned[1]);
  const natA = natChains(a);
  const natB = natChains(b);
  // Per-service chains to read, by name, on both sides alike. A chain nothing jumps to (a stale
  // one) is read whatever it holds: only its own rules can say which service port it is.
  const wanted = new Set<string>();
  const jumpedTo = new Set<string>();
  const edges: string[] = [];
  references(natA.values(), jumpedTo, edges);
  // A chain the same on both sides names the same chains: read those once.
  references(natB.values(), jumpedTo, edges, (c) => sameText(natA.get(c.name), c, cache));
  for (const nat of [natA, natB]) for (const name of nat.keys()) if (perService('nat', name) && !jumpedTo.has(name)) wanted.add(name);
  const dirty: string[] = [];
  // Text decides most chains; where it differs (a node's dump spells every rule its own way),
  // the rules decide.
  const sameRules = (x: readonly Rule[], y: readonly Rule[]) =>
    x.length === y.length &&
    x.every((r, i) => r === y[i] || rawKey(r, a.family, cache.rawKeys[a.family]) === rawKey(y[i]!, b.family, cache.rawKeys[b.family]));
  const compare = (name: string, x: ScannedChain | undefined, y: ScannedChain | undefined) => {
    if (!perService('nat', name) || sameText(x, y, cache)) return;
    if (x && y && x.policy === y.policy && sameRules(chainRules(x, cache), chainRules(y, cache))) return;
    dirty.push(name);
    wanted.add(name);
  };
  for (const x of natA.values()) compare(x.name, x, natB.get(x.name));
  for (const y of natB.values()) if (!natA.has(y.name)) compare(y.name, undefined, y);

  // A differing chain no rule of its own attributes (an endpoint chain without comments) is
  // attributed through the chains that name it: read those too, up to the shared chains.
  for (let up = new Set(dirty); up.size > 0;) {
    const next = new Set<string>();
    for (let i = 0; i < edges.length; i += 2)
      if (up.has(edges[i]!) && edges[i] !== edges[i + 1] && !wanted.has(edges[i + 1]!)) next.add(edges[i + 1]!);
    for (const n of next) wanted.add(n);
    up = next;
  }
  // Which service ports differ: owners of the differing chains, and ports whose rules in the
  // shared chains differ.
  const partA = materialize(a, wanted, cache);
  const partB = materialize(b, wanted, cache);
  const [portsA, portsB] = [iptablesPorts(partA, cache), iptablesPorts(partB, cache)];
  const differing = new Set<string>();
  for (const n of dirty) {
    const o = portsA.owners.get(n) ?? portsB.owners.get(n);
    if (o) differing.add(o.service);
  }
  for (const s of new Set([...portsA.ports.keys(), ...portsB.ports.keys()])) {
    const x = portsA.ports.get(s)?.shared;
    const y = portsB.ports.get(s)?.shared;
    for (const key of new Set([...(x?.keys() ?? []), ...(y?.keys() ?? [])]))
      if (!sameRules(x?.get(key) ?? [], y?.get(key) ?? [])) differing.add(s);
  }
  if (differing.size === 0) return [partA, partB];

  // Every chain of the differing service ports: kube-proxy's names for them (per protocol the
  // port has on either side), the chains already attributed to them, and what those jump to.
  const protocols = new Map<string, Set<string>>();
  for (const p of [...portsA.ports.values(), ...portsB.ports.values()]) {
    if (!differing.has(p.name)) continue;
    if (p.protocol) protocols.set(p.name, (protocols.get(p.name) ?? new Set()).add(p.protocol));
    for (const c of p.chains) wanted.add(c.name);
  }
  for (const s of differing)
    for (const p of protocols.get(s) ?? ['tcp', 'udp', 'sctp']) for (const name of Object.values(portChainNames(s, p))) wanted.add(name);
  const queue = [...wanted];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const chain of [natA.get(name), natB.get(name)]) {
      if (!chain) continue;
      for (const rule of chainRules(chain, cache)) {
        const refs = [targetChain(rule), ...rule.matches.map((m) => (m.kind === 'recent' ? m.name : undefined))];
        for (const r of refs) {
          if (r && perService('nat', r) && !wanted.has(r)) {
            wanted.add(r);
            queue.push(r);
          }
        }
      }
    }
  }
  return [materialize(a, wanted, cache), materialize(b, wanted, cache)];
}
