// Sorting many strings in code-unit order, as Array.prototype.sort() does without a comparator,
// but several times faster on large arrays: a rule set has ~10^5 hashed chain names, and the
// built-in sort compares them through a slow generic path. Each string gets numeric keys of
// seven 7-bit characters (49 bits, exact in a double), compared first; equal keys fall back
// to comparing the strings.

const CHARS = 7;

function keyAt(s: string, from: number): number {
  let k = 0;
  for (let i = from; i < from + CHARS; i++) {
    // Past the end counts as 0, below any character: a prefix sorts first, as it should.
    k = k * 128 + (i < s.length ? s.charCodeAt(i) + 1 : 0);
  }
  return k;
}

const byCodeUnits = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

/** A copy of ITEMS sorted by NAME(item) in code-unit order; stable. */
export function sortedBy<T>(items: readonly T[], name: (item: T) => string): T[] {
  const n = items.length;
  const names = items.map(name);
  const plain = () => {
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => byCodeUnits(names[a]!, names[b]!) || a - b);
    return order.map((i) => items[i]!);
  };
  if (n < 256) return plain();
  // Characters 127 and up do not fit the keys: rare, so take the plain path.
  for (const s of names) if (/[^\x00-\x7e]/.test(s)) return plain();
  const k0 = new Float64Array(n);
  const k1 = new Float64Array(n);
  const k2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = names[i]!;
    k0[i] = keyAt(s, 0);
    k1[i] = keyAt(s, CHARS);
    k2[i] = keyAt(s, 2 * CHARS);
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => {
    let d = k0[a]! - k0[b]!;
    if (d !== 0) return d;
    d = k1[a]! - k1[b]!;
    if (d !== 0) return d;
    d = k2[a]! - k2[b]!;
    if (d !== 0) return d;
    return byCodeUnits(names[a]!, names[b]!) || a - b;
  });
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = items[order[i]!]!;
  return out;
}
