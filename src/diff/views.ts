// Pieces both adapters (iptables.ts, nftables.ts) build their DiffSide from.
import type { ChainView } from './types.js';

/** What a per-service object stands for in a comparison key: its role and port, never its hashed name. */
export function symbolizer(owners: Map<string, { service: string; role: string; endpoint?: string }>): (name: string) => string {
  const symbols = new Map<string, string>();
  return (name) => {
    let s = symbols.get(name);
    if (s === undefined) {
      const o = owners.get(name);
      s = !o ? name : o.endpoint ? `${o.role}(${o.service} ${o.endpoint})` : `${o.role}(${o.service})`;
      symbols.set(name, s);
    }
    return s;
  };
}

/** Ids unique within one service port: a second chain of the same id gets ` #2`. */
export function uniqueIds(): (id: string) => string {
  const seen = new Map<string, number>();
  return (id) => {
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    return n === 1 ? id : `${id} #${n}`;
  };
}

/** A view of lines whose keys are known up front. */
export function linesView(
  id: string,
  table: string,
  name: string,
  rank: number,
  items: { key: string; text: string }[],
  owned: boolean,
): ChainView {
  const keys = items.map((i) => i.key);
  return { id, table, name, rank, owned, size: items.length, keys: () => keys, text: (i) => items[i]!.text };
}

/** "not compared: 3 chains kube-proxy does not own (a, b, c)". */
export function notCompared(names: string[], what: string): string {
  const shown = names.slice(0, 5).join(', ');
  return `not compared: ${names.length} ${what.replace('%s', names.length === 1 ? '' : 's')} (${shown}${names.length > 5 ? ', ...' : ''})`;
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
