// What `apply --dry-run` prints: the node's rules now against the rules after the apply. For
// iptables that is ktables diff of the two states (spelling is not a difference); for nftables,
// which ktables diff does not read yet, a plain unified diff.
import { BUILTIN_CHAINS } from '../ir/iptables.js';
import { emitNftables } from '../emit/nftables.js';
import type { Expr, NftRuleset, Verdict } from '../ir/nftables.js';
import { parseNftables } from '../parse/nftables.js';
import { savedText, type SavedRules } from './saved.js';
import { compareSides, type SideInfo } from '../diff/compare.js';
import { formatText } from '../diff/format/text.js';
import { newReadContext, rulesSidesPair } from '../diff/sides.js';
import type { PlannedChange } from './execute.js';

/** The state after an iptables-restore --noflush of `payload`, computed on the saved state. */
export function simulateRestore(before: SavedRules, payload: string): SavedRules {
  const tables = new Map(
    [...before.tables].map(([n, t]) => [
      n,
      { name: n, chains: new Map([...t.chains].map(([c, ch]) => [c, { ...ch, rules: [...ch.rules] }])) },
    ]),
  );
  let table: ReturnType<typeof tables.get>;
  for (const raw of payload.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      const name = line.slice(1);
      // A table comes into being with its built-in chains.
      table = tables.get(name) ?? {
        name,
        chains: new Map((BUILTIN_CHAINS[name] ?? []).map((c) => [c, { name: c, policy: 'ACCEPT', rules: [] as string[] }])),
      };
      tables.set(name, table);
    } else if (!table || line === 'COMMIT' || line === '') continue;
    else if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s+/)[0]!;
      const old = table.chains.get(name);
      table.chains.set(name, old?.policy ? { ...old, rules: [] } : { name, rules: [] });
    } else {
      const m = /^(-[AIDX])\s+(\S+)(?:\s+1)?(?:\s+(.*))?$/.exec(line);
      if (!m) continue;
      const [, op, name, body = ''] = m;
      const chain = table.chains.get(name!);
      if (op === '-X') table.chains.delete(name!);
      else if (chain && op === '-A') chain.rules.push(body);
      else if (chain && op === '-I') chain.rules.unshift(body);
      else if (chain && op === '-D') {
        const i = chain.rules.indexOf(body);
        if (i >= 0) chain.rules.splice(i, 1);
      }
    }
  }
  return { family: before.family, tables };
}

type Op = { op: ' ' | '-' | '+'; text: string };

/** Myers' O(ND) line diff on keys; shows the texts. */
export function diffLines(a: string[], b: string[], key: (s: string) => string = (s) => s): Op[] {
  const ka = a.map(key);
  const kb = b.map(key);
  const n = ka.length;
  const m = kb.length;
  const max = n + m;
  const v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[max + k - 1]! < v[max + k + 1]!) ? v[max + k + 1]! : v[max + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && ka[x] === kb[y]) {
        x++;
        y++;
      }
      v[max + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vv = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vv[max + k - 1]! < vv[max + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vv[max + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ op: ' ', text: b[--y]! });
      x--;
    }
    if (d > 0) {
      if (x === prevX) ops.push({ op: '+', text: b[--y]! });
      else ops.push({ op: '-', text: a[--x]! });
    }
  }
  return ops.reverse();
}

/** Changed lines with up to `context` unchanged lines around them, in hunks. */
function hunks(ops: Op[], context = 2): string[] {
  const out: string[] = [];
  const show = new Array<boolean>(ops.length).fill(false);
  ops.forEach((o, i) => {
    if (o.op === ' ') return;
    for (let j = Math.max(0, i - context); j <= Math.min(ops.length - 1, i + context); j++) show[j] = true;
  });
  let last = -1;
  ops.forEach((o, i) => {
    if (!show[i]) return;
    if (last >= 0 && i > last + 1) out.push('...');
    out.push(`${o.op}${o.text}`);
    last = i;
  });
  return out;
}

const hex8 = (v: string) => (/^(0x[0-9a-f]+|\d+)$/i.test(v) ? `0x${Number(v).toString(16).padStart(8, '0')}` : v);

/**
 * One spelling for what `nft list` and knftables' dump write differently (mark phrases, marks
 * as numbers, separators, the kernel's order of anonymous set elements), so that a plain line
 * diff shows changes only.
 */
function nftSpelling(rs: NftRuleset): NftRuleset {
  const expr = (e: Expr): Expr => {
    switch (e.kind) {
      case 'markMatch':
        return { kind: 'markMatch', mask: hex8(e.mask), value: hex8(e.value), ...(e.negate ? { negate: true } : {}) };
      case 'markSet':
        return { kind: 'markSet', op: e.op, value: hex8(e.value) };
      case 'addr':
        return e.set ? { ...e, values: [...e.values].sort(), set: { sep: ' , ' } } : e;
      default:
        return e;
    }
  };
  const verdict = (v: Verdict | undefined): Verdict | undefined => {
    if (v?.kind === 'numgen') return { ...v, sep: ' , ' };
    // kube-proxy 1.36+ DNAT: `nft list` writes `dnat ip to numgen ... map` / `dnat ip to IP:PORT`.
    if (v?.kind === 'dnatMap') return { kind: 'dnatMap', l3: v.l3, mod: v.mod, entries: v.entries, sep: ' , ' };
    if (v?.kind === 'dnat') return { kind: 'dnat', to: v.to };
    return v;
  };
  return {
    tables: rs.tables.map((t) => ({
      ...t,
      chains: t.chains.map((c) => ({ ...c, rules: c.rules.map((r) => ({ ...r, exprs: r.exprs.map(expr), verdict: verdict(r.verdict) })) })),
      sets: t.sets.map((x) => ({ ...x, elements: [...x.elements].sort((a, b) => (a.key.join() < b.key.join() ? -1 : 1)) })),
    })),
  };
}

export function describeChange(change: PlannedChange): string {
  if (change.backend === 'nftables') {
    // ktables diff does not read nftables yet: a plain diff of the table, both sides in
    // knftables' dump form so that the spelling of `nft list` is not a difference.
    const before = change.current ? emitNftables(nftSpelling(parseNftables(change.current))).split('\n') : [];
    const after = emitNftables(nftSpelling(parseNftables(change.plan.payload))).split('\n');
    const lines = hunks(diffLines(before, after));
    if (lines.length === 0) return 'no change: the kube-proxy table already holds these rules\n';
    return [`--- nftables (${change.family}) now`, `+++ nftables (${change.family}) after apply`, ...lines, ''].join('\n');
  }
  // The node's rules now and after the restore, both as iptables-save would show them, through
  // ktables diff: per service port, in words, then the rules.
  const { current, plan, family } = change;
  const after = simulateRestore(current, plan.payload);
  const [a, b] = rulesSidesPair('iptables', savedText(current), savedText(after), newReadContext(), [family, family]);
  const side = (source: string): SideInfo => ({ source, input: 'iptables-rules', backend: 'iptables', family });
  const r = compareSides(a, b, { old: side('now'), new: side('after apply') }, { context: 3 });
  if (r.identical) return `no change: ${family} iptables already hold these rules\n`;
  return formatText(r, { stat: false, color: false });
}
