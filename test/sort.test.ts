import { describe, expect, it } from 'vitest';
import { sortedBy } from '../src/util/sort.js';

// A small deterministic generator: the cases must be the same on every run.
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

/** The reference: the built-in stable sort with a code-unit comparator. */
function reference(names: string[]): number[] {
  return names.map((_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
}

function check(names: string[]): void {
  const items = names.map((name, index) => ({ name, index }));
  expect(sortedBy(items, (x) => x.name).map((x) => x.index)).toEqual(reference(names));
}

describe('sortedBy', () => {
  it('sorts hashed chain names as the built-in sort does', () => {
    const next = random(1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const names: string[] = [];
    for (let i = 0; i < 20000; i++) {
      let h = '';
      for (let k = 0; k < 16; k++) h += alphabet[Math.floor(next() * 32)];
      names.push(`KUBE-${['SEP', 'SVC', 'SVL', 'EXT', 'FW'][i % 5]}-${h}`);
    }
    check(names);
  });

  it('keeps equal names in their order, puts a prefix first and handles any length', () => {
    const next = random(2);
    const names: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(next() * 40);
      let s = 'same-long-prefix-'.slice(0, Math.floor(next() * 18));
      for (let k = 0; k < len; k++) s += 'ab\x00~'[Math.floor(next() * 4)];
      names.push(s);
    }
    check(names);
  });

  it('sorts characters outside ASCII by code unit', () => {
    const next = random(3);
    const names = Array.from({ length: 3000 }, () =>
      String.fromCharCode(...Array.from({ length: 3 }, () => 60 + Math.floor(next() * 200))),
    );
    check(names);
  });

  it('sorts small and empty lists', () => {
    check([]);
    check(['b', 'a', 'b', '', 'a']);
  });
});
