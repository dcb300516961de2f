// The behaviour diff for people (text), for programs (JSON: docs/behaviour-json.md) and for a
// pull request comment (Markdown).
import { changeCount, type BehaviourChange, type BehaviourDiff } from './compare.js';
import { describeOutcome, type Outcome } from './outcome.js';
import type { SideInfo, Why } from './reasons.js';

function sideLabel(s: SideInfo): string {
  const what = s.input === 'manifests' ? 'manifests' : s.input === 'iptables-rules' ? 'iptables rules' : 'nftables rules';
  const mode = s.input === 'manifests' ? `, compiled for ${s.proxyMode}` : '';
  return `${s.source} (${what}${mode}${s.kubeProxyVersion ? `, kube-proxy ${s.kubeProxyVersion}` : ''}, ${s.family === 'ipv4' ? 'IPv4' : 'IPv6'})`;
}

const explained = (d: BehaviourDiff) => d.services.flatMap((s) => s.changes).filter((c) => c.why).length;

function summary(d: BehaviourDiff): string {
  const n = changeCount(d);
  if (n === 0) return `no difference in behaviour (${d.unchanged} packet${d.unchanged === 1 ? '' : 's'} traced on both sides)`;
  const e = explained(d);
  return `${n} difference${n === 1 ? '' : 's'} in ${d.services.length} service port${d.services.length === 1 ? '' : 's'} (${e} explained by documented kube-proxy differences, ${n - e} not); ${d.unchanged} packet${d.unchanged === 1 ? '' : 's'} behave the same`;
}

export function formatBehaviourText(d: BehaviourDiff): string {
  const out = [`old: ${sideLabel(d.old)}`, `new: ${sideLabel(d.new)}`, ''];
  for (const s of d.services) {
    out.push(`${s.service} ${s.protocol}`);
    for (const c of s.changes) {
      out.push(`  ${c.probe.destination} from ${c.probe.from}`);
      out.push(`    old: ${describeOutcome(c.old)}`);
      out.push(`    new: ${describeOutcome(c.new)}`);
      if (c.why) {
        out.push(`    why: ${c.why.text}`);
        out.push(`         (${c.why.source})`);
        out.push(`    keep the old behaviour: ${c.why.keep ?? 'no flag does'}`);
      } else out.push('    why: not a documented kube-proxy difference');
    }
    out.push('');
  }
  out.push(summary(d));
  for (const n of d.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}

const outcomeJson = (o: Outcome) => ({ verdict: o.verdict, masquerade: o.masquerade, branches: o.branches });
const sideJson = (s: SideInfo) => ({
  proxyMode: s.proxyMode,
  kubeProxyVersion: s.kubeProxyVersion,
  source: s.source,
  input: s.input,
  family: s.family,
});

function behaviourJson(d: BehaviourDiff): object {
  return {
    schema: 'ktables.behaviour/v1',
    old: sideJson(d.old),
    new: sideJson(d.new),
    services: d.services.map((s) => ({
      service: s.service,
      protocol: s.protocol,
      changes: s.changes.map((c) => ({
        entry: c.probe.destination,
        entryKind: c.probe.entry,
        client: c.probe.from,
        clientKind: c.probe.client,
        packet: c.probe.packet,
        old: outcomeJson(c.old),
        new: outcomeJson(c.new),
        why: c.why,
      })),
    })),
    unchanged: d.unchanged,
    notes: d.notes,
  };
}

export function formatBehaviourJson(d: BehaviourDiff): string {
  return JSON.stringify(behaviourJson(d), null, 2) + '\n';
}

/** Markdown table cells: no pipes or newlines. */
const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * A pull request comment: a summary, a table per changed service port, the reasons once each
 * with their source, and, when few Services changed, before/after pictures (Mermaid blocks).
 */
export function formatBehaviourMarkdown(
  d: BehaviourDiff,
  pictures?: (service: string, protocol: string) => { old: string; new: string } | undefined,
): string {
  const out = [
    '### ktables: behaviour diff',
    '',
    `- old: \`${cell(sideLabel(d.old))}\``,
    `- new: \`${cell(sideLabel(d.new))}\``,
    '',
    summary(d),
    '',
  ];
  const reasons: Why[] = [];
  const ref = (w: Why | null) => {
    if (!w) return '**not documented**';
    let i = reasons.findIndex((r) => r.id === w.id);
    if (i < 0) i = reasons.push(w) - 1;
    return `[${i + 1}] ${w.id}`;
  };
  for (const s of d.services) {
    out.push(`#### \`${s.service}\` ${s.protocol}`, '', '| entry | client | old | new | why |', '|---|---|---|---|---|');
    for (const c of s.changes as BehaviourChange[]) {
      out.push(
        `| ${cell(c.probe.destination)} | ${cell(c.probe.from)} | ${cell(describeOutcome(c.old))} | ${cell(describeOutcome(c.new))} | ${ref(c.why)} |`,
      );
    }
    out.push('');
  }
  if (reasons.length > 0) {
    out.push('#### Why', '');
    reasons.forEach((r, i) => {
      out.push(`${i + 1}. **${r.id}**: ${r.text}. Source: ${r.source}. Keeps the old behaviour: ${r.keep ? `\`${r.keep}\`` : 'no flag'}.`);
    });
    out.push('');
  }
  if (pictures && d.services.length > 0 && d.services.length <= 5) {
    for (const s of d.services) {
      const p = pictures(s.service, s.protocol);
      if (!p) continue;
      out.push(
        `<details><summary>${s.service} ${s.protocol}: before and after</summary>`,
        '',
        'Before:',
        '',
        '```mermaid',
        p.old.trimEnd(),
        '```',
        '',
        'After:',
        '',
        '```mermaid',
        p.new.trimEnd(),
        '```',
        '',
        '</details>',
        '',
      );
    }
  }
  for (const n of d.notes) out.push(`> note: ${n}`);
  return out.join('\n').trimEnd() + '\n';
}
