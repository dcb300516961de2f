// verify's table: one line per probe with the entry point, the source, what the tracer
// predicted, what the packets did, and ✓ or ✗; and the same as JSON.
import { describeExpectation, summarize } from './classify.js';
import type { VerifyReport, VerifyRow } from './verify.js';

function predicted(r: VerifyRow): string {
  if (r.traceError) return `trace failed: ${r.traceError}`;
  return r.expectation ? describeExpectation(r.expectation) : '?';
}

function mark(r: VerifyRow): string {
  if (r.observation.notRun) return '-';
  return r.ok ? '✓' : '✗';
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatReport(rep: VerifyReport): string {
  const withFlows = rep.rows.some((r) => r.flow);
  const head = ['ENTRY POINT', 'FROM', 'PREDICTED (trace)', ...(withFlows ? ['EXPECTED (kube-proxy)'] : []), 'OBSERVED', ''];
  const cells = rep.rows.map((r) => [
    r.service ? `${r.service} ${r.entry}` : r.entry,
    r.from,
    predicted(r),
    ...(withFlows ? [r.flow ? `${r.flow.output === '' ? '""' : r.flow.output}${r.flow.masq ? ' (masq)' : ''}` : ''] : []),
    summarize(r.observation),
    mark(r),
  ]);
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((c) => c[i]!.length))));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === c.length - 1 ? x : pad(x, widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...cells.map(line)];
  for (const r of rep.rows) {
    const why = [...r.problems, ...(r.flow?.problems.map((p) => `vs kube-proxy: ${p}`) ?? [])];
    if (!r.ok && why.length > 0) out.push(`✗ ${r.service ? `${r.service} ` : ''}${r.entry} from ${r.from}: ${why.join('; ')}`);
  }
  const bad = rep.rows.filter((r) => !r.ok).length;
  const notRun = rep.rows.filter((r) => r.observation.notRun).length;
  for (const n of rep.notes) out.push(`note: ${n}`);
  out.push(
    `${rep.mode} (${rep.family}): ${rep.rows.length - bad - notRun} of ${rep.rows.length} probes match` +
      (notRun ? `, ${notRun} not run` : '') +
      (bad ? `, ${bad} MISMATCH` : '') +
      ` (lab ${rep.timings.labMs} ms, apply ${rep.timings.applyMs} ms, probes ${rep.timings.probeMs} ms)`,
  );
  if (rep.lab.help) out.push(rep.lab.help);
  return out.join('\n') + '\n';
}

export function reportJson(rep: VerifyReport): object {
  return {
    ok: rep.ok,
    mode: rep.mode,
    family: rep.family,
    lab: rep.lab,
    timings: rep.timings,
    notes: rep.notes,
    rows: rep.rows.map((r) => ({
      ...(r.service ? { service: r.service } : {}),
      entry: r.entry,
      from: r.from,
      packet: r.packet,
      namespace: r.place,
      predicted: r.predicted
        ? { verdict: r.predicted.verdict, masquerade: r.predicted.masquerade, endpoints: r.predicted.endpoints, summary: predicted(r) }
        : { error: r.traceError },
      ...(r.flow ? { expected: { output: r.flow.output, masq: r.flow.masq, problems: r.flow.problems } } : {}),
      observed: {
        summary: summarize(r.observation),
        outcomes: r.observation.outcomes,
        ...(r.observation.notRun ? { notRun: r.observation.notRun } : {}),
        ...(r.observation.error ? { error: r.observation.error } : {}),
      },
      problems: r.problems,
      ok: r.ok,
    })),
  };
}
