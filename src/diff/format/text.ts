// Plain text (coloured when the caller says so: on a terminal, without NO_COLOR): an overview
// with one line of words per service port, then per service port its words and rule diffs.
import type { DiffResult, ServiceDiff } from '../result.js';
import { describeSide, sideNotes, STATUS_MARK, statText, unifiedLines, verdictLine } from './common.js';

export interface TextOptions {
  color: boolean;
  stat: boolean;
}

type Style = 'bold' | 'red' | 'green' | 'cyan' | 'yellow' | 'dim';
const CODES: Record<Style, string> = { bold: '1', red: '31', green: '32', cyan: '36', yellow: '33', dim: '2' };

function painter(color: boolean) {
  return (style: Style, text: string) => (color ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text);
}

const title = (s: ServiceDiff) => `${s.name}${s.protocol ? ` (${s.protocol})` : ''}`;

export function formatText(r: DiffResult, o: TextOptions): string {
  const paint = painter(o.color);
  const out: string[] = [];
  const markStyle = { added: 'green', removed: 'red', changed: 'yellow' } as const;
  out.push(paint('bold', `ktables diff: ${describeSide(r.old)} → ${describeSide(r.new)}`));
  for (const n of sideNotes(r)) out.push(paint('dim', `note (${n.side}): ${n.text}`));
  if (o.stat) return statTable(r, out).join('\n') + '\n';
  if (r.identical) {
    out.push(verdictLine(r));
    return out.join('\n') + '\n';
  }

  out.push('');
  for (const s of r.services) {
    out.push(`${paint(markStyle[s.status], STATUS_MARK[s.status])} ${paint('bold', title(s))}: ${s.changes.map((c) => c.text).join('; ')}`);
  }
  if (r.nodeWide.chains.length > 0)
    out.push(`${paint('yellow', '~')} ${paint('bold', 'node-wide')}: ${r.nodeWide.changes.map((c) => c.text).join('; ')}`);
  out.push('');
  out.push(verdictLine(r));

  const section = (heading: string, changes: string[], chains: ServiceDiff['chains']) => {
    out.push('');
    out.push(paint('bold', heading));
    for (const c of changes) out.push(`  * ${c}`);
    for (const l of unifiedLines(chains)) {
      if (l.kind === 'header') out.push(paint('bold', l.text));
      else if (l.kind === 'hunk') out.push(paint('cyan', l.text));
      else if (l.kind === '-') out.push(paint('red', l.text));
      else if (l.kind === '+') out.push(paint('green', l.text));
      else out.push(l.text);
    }
  };
  for (const s of r.services) {
    section(
      `${STATUS_MARK[s.status]} ${title(s)}`,
      s.changes.map((c) => c.text),
      s.chains,
    );
  }
  if (r.nodeWide.chains.length > 0)
    section(
      '~ node-wide',
      r.nodeWide.changes.map((c) => c.text),
      r.nodeWide.chains,
    );
  return out.join('\n') + '\n';
}

function statTable(r: DiffResult, out: string[]): string[] {
  const rows: [string, string, string][] = r.services.map((s) => [s.name, s.status, statText(s.stat)]);
  if (r.nodeWide.chains.length > 0) rows.push(['(node-wide)', 'changed', statText(r.nodeWide.stat, false)]);
  const width = Math.max(0, ...rows.map((x) => x[0].length));
  for (const [name, status, stat] of rows) out.push(` ${name.padEnd(width)}  ${status.padEnd(7)}  ${stat}`);
  out.push(` ${verdictLine(r)}`);
  out.push(` total: ${statText(r.totals)}`);
  return out;
}
