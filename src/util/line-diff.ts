// Line diff of two key sequences (Myers' O((N+M)D) algorithm) and unified-diff hunks, for any
// two sequences of lines: keys decide equality; the text shown for each line comes from the side
// it belongs to. ktables diff uses it for the rules of a chain.

type Op = ' ' | '-' | '+';

export interface Edit {
  op: Op;
  /** Index in the old sequence (for ' ' and '-'). */
  a: number;
  /** Index in the new sequence (for ' ' and '+'). */
  b: number;
}

interface HunkLine {
  op: Op;
  text: string;
}

export interface Hunk {
  oldStart: number; // 1-based, as in unified diffs (0 when the hunk has no old lines)
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: HunkLine[];
}

/** The shortest edit script from a to b, in order. */
export function diffKeys(a: readonly string[], b: readonly string[]): Edit[] {
  // Common prefix and suffix first: most chains differ in a line or two.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const edits: Edit[] = [];
  for (let i = 0; i < pre; i++) edits.push({ op: ' ', a: i, b: i });
  const mid = myers(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf));
  for (const e of mid) edits.push({ op: e.op, a: e.a + pre, b: e.b + pre });
  for (let i = suf; i > 0; i--) edits.push({ op: ' ', a: a.length - i, b: b.length - i });
  return edits;
}

/** Beyond this many differences, a cheaper (not always shortest) script is good enough. */
const MAX_D = 3000;

function myers(a: readonly string[], b: readonly string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((_, j) => ({ op: '+', a: 0, b: j }));
  if (m === 0) return a.map((_, i) => ({ op: '-', a: i, b: 0 }));
  const max = Math.min(n + m, MAX_D);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds v[-d..d] as it was before step d: memory grows with D², not D·(N+M).
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  if (!found) return greedy(a, b);
  const at = (d: number, k: number) => trace[d]![k + d]!;
  const out: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const k = x - y;
    const prevK = k === -d || (k !== d && at(d, k - 1) < at(d, k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(d, prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      out.push({ op: ' ', a: x, b: y });
    }
    if (d > 0) {
      if (x === prevX) out.push({ op: '+', a: x, b: prevY });
      else out.push({ op: '-', a: prevX, b: y });
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

/** A valid script for very different sequences: match each old line to its next occurrence. */
function greedy(a: readonly string[], b: readonly string[]): Edit[] {
  const positions = new Map<string, number[]>();
  b.forEach((key, j) => {
    const list = positions.get(key);
    if (list) list.push(j);
    else positions.set(key, [j]);
  });
  const used = new Map<string, number>();
  const out: Edit[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const list = positions.get(a[i]!);
    let p = used.get(a[i]!) ?? 0;
    while (list && p < list.length && list[p]! < j) p++;
    used.set(a[i]!, p);
    if (!list || p >= list.length) {
      out.push({ op: '-', a: i, b: j });
      continue;
    }
    for (; j < list[p]!; j++) out.push({ op: '+', a: i, b: j });
    out.push({ op: ' ', a: i, b: j });
    j++;
    used.set(a[i]!, p + 1);
  }
  for (; j < b.length; j++) out.push({ op: '+', a: a.length, b: j });
  return out;
}

/** Groups an edit script into hunks with `context` unchanged lines around each change. */
export function hunks(edits: Edit[], oldText: (i: number) => string, newText: (i: number) => string, context: number): Hunk[] {
  const changed: number[] = [];
  edits.forEach((e, i) => e.op !== ' ' && changed.push(i));
  if (changed.length === 0) return [];
  const out: Hunk[] = [];
  let i = 0;
  while (i < changed.length) {
    const start = Math.max(0, changed[i]! - context);
    let end = Math.min(edits.length - 1, changed[i]! + context);
    while (i + 1 < changed.length && changed[i + 1]! - context <= end + 1) {
      i++;
      end = Math.min(edits.length - 1, changed[i]! + context);
    }
    i++;
    const slice = edits.slice(start, end + 1);
    const lines: HunkLine[] = slice.map((e) => ({
      op: e.op,
      text: e.op === '+' ? newText(e.b) : e.op === '-' ? oldText(e.a) : newText(e.b),
    }));
    const oldLines = slice.filter((e) => e.op !== '+').length;
    const newLines = slice.filter((e) => e.op !== '-').length;
    // An edit's a (b) is the count of old (new) lines before it, whatever its op.
    const oldBefore = slice[0]!.a;
    const newBefore = slice[0]!.b;
    out.push({
      oldStart: oldLines === 0 ? oldBefore : oldBefore + 1,
      oldLines,
      newStart: newLines === 0 ? newBefore : newBefore + 1,
      newLines,
      lines,
    });
  }
  return out;
}
