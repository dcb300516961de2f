// Pieces every output format shares: side descriptions, the one-line verdict, chain headers.
import type { ChainDiff, DiffResult, SideInfo, Stat } from '../result.js';

export function describeSide(s: SideInfo, source: (path: string) => string = (p) => p): string {
  const what = s.input === 'manifests' ? `manifests compiled for ${s.backend}` : `${s.backend} rules`;
  return `${source(s.source)} (${what}, ${s.family})`;
}

/** The notes of both sides in order; `first` marks each side's first. */
export function sideNotes(r: DiffResult): { side: 'old' | 'new'; text: string; first: boolean }[] {
  return (['old', 'new'] as const).flatMap((side) => r.notes[side].map((text, i) => ({ side, text, first: i === 0 })));
}

export const STATUS_MARK = { added: '+', removed: '-', changed: '~' } as const;

/** "3 service ports differ (1 added, 1 removed, 1 changed), 9 unchanged; node-wide rules differ". */
export function verdictLine(r: DiffResult): string {
  const sp = r.totals.servicePorts;
  if (r.identical)
    return `no semantic difference: ${sp.compared} service port${sp.compared === 1 ? '' : 's'} and the node-wide rules are the same`;
  const differ = sp.added + sp.removed + sp.changed;
  const parts: string[] = [];
  if (differ > 0)
    parts.push(
      `${differ} service port${differ === 1 ? '' : 's'} differ${differ === 1 ? 's' : ''} (${sp.added} added, ${sp.removed} removed, ${sp.changed} changed), ${sp.unchanged} unchanged`,
    );
  else parts.push(`no service port differs (${sp.unchanged} compared)`);
  parts.push(r.nodeWide.chains.length > 0 ? 'node-wide rules differ' : 'node-wide rules are the same');
  return parts.join('; ');
}

function chainSide(c: ChainDiff, side: 'old' | 'new'): string {
  const name = side === 'old' ? c.oldName : c.newName;
  if (name === null) return '/dev/null';
  return `${c.table} ${name}${c.label ? ` (${c.label})` : ''}`;
}

function hunkHeader(h: { oldStart: number; oldLines: number; newStart: number; newLines: number }): string {
  const range = (start: number, lines: number) => (lines === 1 ? `${start}` : `${start},${lines}`);
  return `@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`;
}

export function statText(s: Stat, withEndpoints = true): string {
  const parts = [`rules +${s.rulesAdded} -${s.rulesRemoved}`, `chains +${s.chainsAdded} -${s.chainsRemoved}`];
  if (withEndpoints) parts.push(`endpoints +${s.endpointsAdded} -${s.endpointsRemoved}`);
  return parts.join(', ');
}

/** The unified diff of a list of chains, one line per element (no trailing newlines). */
export function unifiedLines(chains: ChainDiff[]): { kind: 'header' | 'hunk' | ' ' | '-' | '+'; text: string }[] {
  const out: { kind: 'header' | 'hunk' | ' ' | '-' | '+'; text: string }[] = [];
  for (const c of chains) {
    out.push({ kind: 'header', text: `--- ${chainSide(c, 'old')}` });
    out.push({ kind: 'header', text: `+++ ${chainSide(c, 'new')}` });
    for (const h of c.hunks) {
      out.push({ kind: 'hunk', text: hunkHeader(h) });
      for (const l of h.lines) out.push({ kind: l.op, text: `${l.op}${l.text}` });
    }
  }
  return out;
}
