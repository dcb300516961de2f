import type { Host } from '../../host.js';
import { UsageError } from '../../errors.js';
import { inFile } from '../../parse/read.js';
import { formatTable, formatTrace, tableJson, traceJson } from '../../trace/format.js';
import type { TracePacket, TraceProtocol } from '../../trace/packet.js';
import { familyOf, type Family } from '../../util/ip.js';
import { interfaceNameProblem } from '../../input/ifname.js';
import { wordsContext } from '../../graph/pictures.js';
import { traceInputs } from '../../app/trace-inputs.js';
import { traceAll } from '../../app/trace-all.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { writeStdout } from '../io.js';
import { echo } from '../flag-values.js';
import { renderTracePicture } from './graph.js';

export interface TraceArgs extends CompileFlags {
  paths?: string[];
  src?: string;
  dst?: string;
  dport?: number;
  sport?: number;
  protocol?: string;
  'in-interface'?: string;
  'out-interface'?: string;
  rules?: string;
  all?: boolean;
  json?: boolean;
  format?: 'text' | 'json' | 'mermaid' | 'dot';
  verbose?: boolean;
}

export function run(argv: TraceArgs, host: Host): void {
  const opts = proxyOptions(argv, host);
  if (argv.all && (argv.format === 'mermaid' || argv.format === 'dot'))
    throw new UsageError(`--format ${argv.format} draws one packet's path: for every Service use ktables graph`);
  if (argv.all) {
    for (const f of ['src', 'dst', 'dport'] as const)
      if (argv[f] !== undefined) throw new UsageError(`--all chooses the packets itself: drop --${f}`);
  }
  const traced = traceInputs(
    host,
    {
      paths: argv.paths ?? [],
      rules: argv.rules,
      familyGiven: !!argv['ip-family'],
      dst: argv.dst,
      all: !!argv.all,
      previousRules: argv['previous-rules'],
    },
    opts,
  );
  if (argv.verbose) for (const n of traced.compileNotes) host.stderr.write(`ktables: ${n}\n`);
  const json = argv.json || argv.format === 'json';

  if (argv.all) {
    const { rows, notes, conditions } = traceAll(traced, argv.rules);
    if (json) writeStdout(host, JSON.stringify({ rows: tableJson(rows), notes, conditions: [...conditions.keys()] }, null, 2) + '\n');
    else {
      writeStdout(host, rows.length > 0 ? formatTable(rows) : 'no service ports to trace\n');
      for (const [c, n] of conditions) writeStdout(host, `conditional (?, ${n} row${n === 1 ? '' : 's'}): ${c}\n`);
      for (const n of notes) writeStdout(host, `note: ${n}\n`);
    }
    return;
  }

  const { tracer, node, model } = traced;
  const packet = packetFromFlags(argv, tracer.family);
  const result = argv.rules ? inFile(argv.rules, () => tracer.trace(packet)) : tracer.trace(packet);
  result.notes.push(...traced.fileNotes);
  if (argv.rules && node.addresses.length === 0) result.notes.push('no --node-ip given: only loopback addresses count as local');
  if (argv.format === 'mermaid' || argv.format === 'dot') {
    writeStdout(host, renderTracePicture(result, argv.format, model ? wordsContext(model) : { clusterCIDRs: opts.clusterCIDRs }));
    return;
  }
  writeStdout(host, json ? JSON.stringify(traceJson(result), null, 2) + '\n' : formatTrace(result));
}

function packetFromFlags(argv: TraceArgs, family: Family): TracePacket {
  const missing = (['src', 'dst', 'dport'] as const).filter((f) => argv[f] === undefined);
  if (missing.length > 0) throw new UsageError(`trace needs ${missing.map((f) => `--${f}`).join(', ')} (or --all)`);
  const protocol = String(argv.protocol ?? 'TCP').toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp')
    throw new UsageError(`--protocol must be TCP, UDP or SCTP (got ${argv.protocol})`);
  for (const f of ['src', 'dst'] as const) {
    const fam = familyOf(argv[f]!);
    if (!fam) throw new UsageError(`--${f}: ${JSON.stringify(argv[f])} is not an IP address`);
    if (fam !== family) {
      throw new UsageError(
        `--${f} ${argv[f]} is ${fam === 'ipv4' ? 'IPv4' : 'IPv6'} but the rules are ${family === 'ipv4' ? 'IPv4' : 'IPv6'}${argv.rules ? '' : ' (use --ip-family)'}`,
      );
    }
  }
  const packet: TracePacket = { src: argv.src!, dst: argv.dst!, dport: argv.dport!, protocol: protocol as TraceProtocol };
  if (argv.sport !== undefined) packet.sport = argv.sport;
  for (const flag of ['in-interface', 'out-interface'] as const) {
    const v = argv[flag];
    if (v === undefined) continue;
    const why = interfaceNameProblem(String(v));
    if (why) throw new UsageError(`--${flag}: ${echo(v)} is not a valid interface name: ${why}`);
  }
  if (argv['in-interface']) packet.inInterface = argv['in-interface'];
  if (argv['out-interface']) packet.outInterface = argv['out-interface'];
  return packet;
}
