// `--format markdown`: ready to post as a pull-request comment (GitHub-flavoured). An overview
// table, then per service port its changes as a list and its rule diff in a ```diff block,
// folded into <details> when long so the comment stays readable.
import type { ChainDiff, DiffResult } from '../result.js';
import { describeSide, sideNotes, statText, unifiedLines, verdictLine } from './common.js';

/** Diff blocks longer than this many lines are collapsed. */
const COLLAPSE_LINES = 25;

/** Text safe inside a table cell or a list item: no pipes, no HTML, no line breaks. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  const ticks = Math.max(0, ...(text.match(/`+/g) ?? []).map((t) => t.length)) + 1;
  const fence = '`'.repeat(ticks);
  return ticks > 1 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

function diffBlock(chains: ChainDiff[]): string[] {
  const lines = unifiedLines(chains).map((l) => l.text);
  const ticks = Math.max(2, ...lines.flatMap((l) => (l.match(/`+/g) ?? []).map((t) => t.length))) + 1;
  const fence = '`'.repeat(ticks);
  const block = [`${fence}diff`, ...lines, fence];
  if (lines.length <= COLLAPSE_LINES) return block;
  const added = chains.reduce((n, c) => n + c.rulesAdded, 0);
  const removed = chains.reduce((n, c) => n + c.rulesRemoved, 0);
  return [
    `<details><summary>Rule diff: ${chains.length} chain${chains.length === 1 ? '' : 's'}, +${added} −${removed} rules</summary>`,
    '',
    ...block,
    '',
    '</details>',
  ];
}

const STATUS = { added: 'added', removed: 'removed', changed: 'changed' } as const;

export function formatMarkdown(r: DiffResult, o: { stat: boolean }): string {
  const out: string[] = [];
  out.push('### ktables diff');
  out.push('');
  out.push(`${describeSide(r.old, code)} → ${describeSide(r.new, code)}`);
  out.push('');
  out.push(`**${cell(verdictLine(r))}**`);
  for (const n of sideNotes(r)) out.push(...(n.first ? [''] : []), `> note (${n.side}): ${cell(n.text)}`);
  if (r.identical) return out.join('\n') + '\n';

  out.push('');
  if (o.stat) {
    out.push('| Service port | Status | Rules | Chains | Endpoints |');
    out.push('|---|---|--:|--:|--:|');
    for (const s of r.services) {
      out.push(
        `| ${code(s.name)} | ${STATUS[s.status]} | +${s.stat.rulesAdded} −${s.stat.rulesRemoved} | +${s.stat.chainsAdded} −${s.stat.chainsRemoved} | +${s.stat.endpointsAdded} −${s.stat.endpointsRemoved} |`,
      );
    }
    if (r.nodeWide.chains.length > 0) {
      const s = r.nodeWide.stat;
      out.push(`| node-wide | changed | +${s.rulesAdded} −${s.rulesRemoved} | +${s.chainsAdded} −${s.chainsRemoved} | |`);
    }
    out.push('');
    out.push(`Total: ${cell(statText(r.totals))}`);
    return out.join('\n') + '\n';
  }

  out.push('| Service port | Status | What changes | Rules |');
  out.push('|---|---|---|--:|');
  for (const s of r.services) {
    const name = `${code(s.name)}${s.protocol ? ` ${s.protocol}` : ''}`;
    out.push(
      `| ${name} | ${STATUS[s.status]} | ${cell(s.changes.map((c) => c.text).join('; '))} | +${s.stat.rulesAdded} −${s.stat.rulesRemoved} |`,
    );
  }
  if (r.nodeWide.chains.length > 0) {
    const s = r.nodeWide.stat;
    out.push(`| node-wide | changed | ${cell(r.nodeWide.changes.map((c) => c.text).join('; '))} | +${s.rulesAdded} −${s.rulesRemoved} |`);
  }

  for (const s of r.services) {
    out.push('');
    out.push(`#### ${code(s.name)}${s.protocol ? ` ${s.protocol}` : ''}: ${STATUS[s.status]}`);
    out.push('');
    for (const c of s.changes) out.push(`- ${cell(c.text)}`);
    out.push('');
    out.push(...diffBlock(s.chains));
  }
  if (r.nodeWide.chains.length > 0) {
    out.push('');
    out.push('#### Node-wide rules');
    out.push('');
    for (const c of r.nodeWide.changes) out.push(`- ${cell(c.text)}`);
    out.push('');
    out.push(...diffBlock(r.nodeWide.chains));
  }
  return out.join('\n') + '\n';
}
