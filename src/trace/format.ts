// Trace results for people (a short answer, then the path as a tree) and for programs (JSON).
import type { TraceBranch, TraceResult, TraceStep } from './packet.js';

export function percent(p: number): string {
  const v = p * 100;
  if (Math.abs(v - Math.round(v)) < 1e-6) return `${Math.round(v)}%`;
  return `${v >= 10 ? v.toFixed(1) : v.toPrecision(3)}%`;
}

/** Probabilities as the kernel has them are binary fractions; nine decimals are plenty. */
const round = (p: number) => Math.round(p * 1e9) / 1e9;

function packetLine(r: TraceResult): string {
  const p = r.packet;
  const dst = p.dst.includes(':') ? `[${p.dst}]:${p.dport}` : `${p.dst}:${p.dport}`;
  const extra: string[] = [];
  if (p.sport !== undefined) extra.push(`source port ${p.sport}`);
  if (p.inInterface) extra.push(`in on ${p.inInterface}`);
  if (p.outInterface) extra.push(`out on ${p.outInterface}`);
  const from = r.entry === 'OUTPUT' ? 'from the node itself: enters at OUTPUT' : 'from outside the node or a pod: enters at PREROUTING';
  return `${p.protocol.toUpperCase()} ${p.src} -> ${dst}${extra.length ? ` (${extra.join(', ')})` : ''}, ${from}`;
}

function stepWhere(s: TraceStep): string {
  let w = `${s.hook} ${s.table} ${s.chain}`;
  if (s.position !== undefined) w += ` #${s.position}`;
  if (s.line !== undefined) w += ` (line ${s.line})`;
  if (s.added) w += " (added: kube-proxy's jump rule)";
  return w;
}

function branchEnd(b: TraceBranch, many: boolean): string {
  const pct = many ? ` (${percent(b.probability)})` : '';
  const masq = b.masquerade ? ', masqueraded' : '';
  switch (b.outcome) {
    case 'DNAT':
      return `DNAT to ${b.dnat}${pct}${masq}${b.delivery === 'local' ? ', delivered to the node' : ''}`;
    case 'DROP':
      return `DROP${pct}`;
    case 'REJECT':
      return `REJECT${pct}`;
    case 'ACCEPT':
      return `ACCEPT${pct}${masq}`;
    case 'NONE':
      return `no rule decided${pct}: ${b.delivery === 'local' ? 'delivered to the node' : b.delivery === 'forward' ? 'forwarded untouched' : 'sent out untouched'}${masq}`;
  }
}

function deciding(r: TraceResult, b: TraceBranch): TraceStep | undefined {
  const last = b.steps[b.steps.length - 1];
  return last === undefined ? undefined : r.path[last];
}

function verdictLines(r: TraceResult): string[] {
  const many = r.branches.length > 1;
  if (r.endpoints.length > 0 && r.branches.every((b) => b.outcome === 'DNAT')) {
    return [`DNAT to ${r.endpoints.map((e) => (many ? `${e.address} (${percent(e.probability)})` : e.address)).join(', ')}`];
  }
  if (!many) {
    const b = r.branches[0]!;
    const d = deciding(r, b);
    const by =
      (b.outcome === 'DROP' || b.outcome === 'REJECT' || b.outcome === 'ACCEPT') && d
        ? ` by ${d.kind === 'policy' ? d.text : `${d.table} ${d.chain} #${d.position ?? '?'}${d.line !== undefined ? ` (line ${d.line})` : ''}`}`
        : '';
    return [branchEnd(b, false) + by];
  }
  return r.branches.map((b) => branchEnd(b, true));
}

/** The answer first, then every rule on the way; random matches open indented branches. */
export function formatTrace(r: TraceResult): string {
  const out: string[] = [];
  out.push(`packet:      ${packetLine(r)}`);
  const v = verdictLines(r);
  out.push(`verdict:     ${v[0]}`);
  for (const line of v.slice(1)) out.push(`             ${line}`);
  if (r.endpoints.length > 0) {
    const w = Math.max(...r.endpoints.map((e) => e.address.length));
    r.endpoints.forEach((e, i) => {
      out.push(
        `${i === 0 ? 'endpoints:   ' : '             '}${e.address.padEnd(w)}  ${percent(e.probability).padStart(6)}${e.masquerade ? '  masqueraded' : ''}`,
      );
    });
  }
  const some = r.branches.filter((b) => b.outcome !== 'DROP' && b.outcome !== 'REJECT');
  const masq = some.filter((b) => b.masquerade);
  out.push(
    `masquerade:  ${masq.length === 0 ? 'no' : masq.length === some.length ? "yes (source NAT to the node's address on the way out)" : `in ${percent(masq.reduce((n, b) => n + b.probability, 0))} of cases`}`,
  );
  const recent = [...new Set(r.branches.flatMap((b) => b.recent))];
  if (recent.length > 0)
    out.push(`affinity:    a new client; the connection is recorded in ${recent.join(', ')} so its next ones stick to the same endpoint`);
  for (const n of r.notes) out.push(`note:        ${n}`);
  for (const c of r.conditions ?? []) out.push(`conditional: ${c}`);
  out.push('', 'path:');
  // Which branches end after which step (a branch without steps ends before the first).
  const endsAt = new Map<number, TraceBranch[]>();
  for (const b of r.branches) {
    const at = b.steps[b.steps.length - 1] ?? -1;
    endsAt.set(at, [...(endsAt.get(at) ?? []), b]);
  }
  const many = r.branches.length > 1;
  const bar = (depth: number) => '  ' + '| '.repeat(depth);
  for (const b of endsAt.get(-1) ?? []) out.push(`${bar(0)}=> ${branchEnd(b, many)}`);
  r.path.forEach((s, i) => {
    const head = bar(s.depth);
    if (s.kind === 'route') out.push(`${head}routing: ${s.text}`);
    else if (s.kind === 'policy') out.push(`${head}${s.hook} ${s.text}`);
    else {
      const pct = many && s.note?.startsWith('random') ? `[${percent(s.probability)}] ` : '';
      out.push(`${head}${pct}${stepWhere(s)}${s.note ? `: ${s.note}` : ''}`);
      out.push(`${head}    ${s.text}`);
    }
    for (const b of endsAt.get(i) ?? []) out.push(`${bar(s.depth)}=> ${branchEnd(b, many)}`);
  });
  return out.join('\n') + '\n';
}

/** The JSON answer: the conformance fields first, then everything the human output shows. */
export function traceJson(r: TraceResult): object {
  return {
    verdict: r.verdict,
    masquerade: r.masquerade,
    endpoints: r.endpoints.map((e) => ({ address: e.address, probability: round(e.probability), masquerade: e.masquerade })),
    packet: r.packet,
    entry: r.entry,
    branches: r.branches.map((b) => ({ ...b, probability: round(b.probability) })),
    path: r.path.map((s) => ({ ...s, probability: round(s.probability) })),
    notes: r.notes,
    ...(r.conditions ? { conditions: r.conditions } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The --all table

export interface TableRow {
  service: string;
  protocol: string;
  destination: string;
  from: string;
  result: TraceResult;
}

const MAX_LISTED = 3;

function shortVerdict(r: TraceResult): string {
  if (r.endpoints.length > 0 && r.branches.every((b) => b.outcome === 'DNAT')) {
    const many = r.endpoints.length > 1;
    const shown = r.endpoints.slice(0, MAX_LISTED).map((e) => (many ? `${e.address} ${percent(e.probability)}` : e.address));
    if (r.endpoints.length > MAX_LISTED) shown.push(`+${r.endpoints.length - MAX_LISTED} more`);
    return shown.join(', ');
  }
  if (r.branches.length === 1) {
    const b = r.branches[0]!;
    if (b.outcome === 'NONE') return b.delivery === 'local' ? 'no rule (to the node)' : 'no rule (passes)';
    return b.outcome === 'DNAT' ? (b.dnat ?? '') : b.outcome;
  }
  return r.branches.map((b) => `${b.outcome === 'DNAT' ? b.dnat : b.outcome} ${percent(b.probability)}`).join(', ');
}

function masqText(r: TraceResult): string {
  const live = r.branches.filter((b) => b.outcome !== 'DROP' && b.outcome !== 'REJECT');
  const m = live.filter((b) => b.masquerade).length;
  return m === 0 ? 'no' : m === live.length ? 'yes' : 'partly';
}

/** One line per traced packet, columns aligned. */
export function formatTable(rows: TableRow[]): string {
  const header = ['SERVICE', 'PROTO', 'DESTINATION', 'FROM', 'RESULT', 'MASQ'];
  // A conditional answer (a rule on the way it could not judge) is marked; the reasons follow the table.
  const cells = rows.map((r) => [
    r.service,
    r.protocol.toUpperCase(),
    r.destination,
    r.from,
    shortVerdict(r.result) + (r.result.conditions ? ' (?)' : ''),
    masqText(r.result),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(header)];
  let prev = '';
  for (const c of cells) {
    // Blank the repeated service port: the eye finds the next one faster.
    const key = `${c[0]} ${c[1]}`;
    out.push(line(key === prev ? ['', '', ...c.slice(2)] : c));
    prev = key;
  }
  return out.join('\n') + '\n';
}

export function tableJson(rows: TableRow[]): object[] {
  return rows.map((r) => ({
    service: r.service,
    protocol: r.protocol.toUpperCase(),
    destination: r.destination,
    from: r.from,
    src: r.result.packet.src,
    dst: r.result.packet.dst,
    dport: r.result.packet.dport,
    verdict: r.result.verdict,
    masquerade: r.result.masquerade,
    endpoints: r.result.endpoints.map((e) => ({ address: e.address, probability: round(e.probability), masquerade: e.masquerade })),
    ...(r.result.conditions ? { conditions: r.result.conditions } : {}),
  }));
}
