// What `apply --dry-run` prints: the node's rules now against the rules after the apply, per
// chain, as a unified diff. Two lines that only differ in spelling (iptables-save's `/32`,
// option order, quoting) are the same rule and are not shown as a change.
import type { Rule } from '../ir/iptables.js';
import { BUILTIN_CHAINS } from '../ir/iptables.js';
import { normalizeRule, fillKey } from '../diff/normalize.js';
import { emitNftables } from '../emit/nftables.js';
import { parseNftables } from '../parse/nftables.js';
import { isBuiltin, parseSavedRule, type SavedRules } from './saved.js';
import type { PlannedChange } from './execute.js';

/** The state after an iptables-restore --noflush of `payload`, computed on the saved state. */
export function simulateRestore(before: SavedRules, payload: string): SavedRules {
  const tables = new Map([...before.tables].map(([n, t]) => [n, { name: n, chains: new Map([...t.chains].map(([c, ch]) => [c, { ...ch, rules: [...ch.rules] }])) }]));
  let table: ReturnType<typeof tables.get>;
  for (const raw of payload.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      const name = line.slice(1);
      // A table comes into being with its built-in chains.
      table = tables.get(name) ?? { name, chains: new Map((BUILTIN_CHAINS[name] ?? []).map((c) => [c, { name: c, policy: 'ACCEPT', rules: [] as string[] }])) };
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

function ruleKey(body: string, family: 'ipv4' | 'ipv6', cache: Map<string, string>): string {
  let k = cache.get(body);
  if (k === undefined) {
    const r: Rule | undefined = parseSavedRule(body);
    k = r ? fillKey(normalizeRule(r, family), (c) => c) : body;
    cache.set(body, k);
  }
  return k;
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
    while (x > prevX && y > prevY) ops.push({ op: ' ', text: b[--y]! }), x--;
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

export function describeChange(change: PlannedChange): string {
  if (change.backend === 'nftables') {
    const before = change.current ? emitNftables(parseNftables(change.current)).split('\n') : [];
    const after = emitNftables(parseNftables(change.plan.payload)).split('\n');
    const lines = hunks(diffLines(before, after));
    if (lines.length === 0) return 'no change: the kube-proxy table already holds these rules\n';
    return [`--- nftables (${change.family}) now`, `+++ nftables (${change.family}) after apply`, ...lines, ''].join('\n');
  }
  const { current, plan, family } = change;
  const after = simulateRestore(current, plan.payload);
  const cache = new Map<string, string>();
  const key = (s: string) => ruleKey(s.replace(/^-A \S+ ?/, ''), family, cache);
  const out: string[] = [];
  let changes = 0;
  for (const k of [...plan.touched].sort()) {
    const [table, chain] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    const was = current.tables.get(table)?.chains.get(chain);
    const will = after.tables.get(table)?.chains.get(chain);
    const lines = (c: typeof was) => (c ? c.rules.map((b) => (b ? `-A ${chain} ${b}` : `-A ${chain}`)) : []);
    const ops = diffLines(lines(was), lines(will), key);
    const created = !was && will;
    const deleted = was && !will && !isBuiltin(table, chain);
    if (!created && !deleted && ops.every((o) => o.op === ' ')) continue;
    changes++;
    out.push(`@@ ${table} ${chain}${created ? ' (new chain)' : deleted ? ' (deleted)' : ''} @@`, ...hunks(ops));
  }
  if (changes === 0) return `no change: ${family} iptables already hold these rules\n`;
  return [`--- iptables (${family}) now`, `+++ iptables (${family}) after apply`, ...out, ''].join('\n');
}
