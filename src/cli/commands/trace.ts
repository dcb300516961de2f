import type { Host } from '../../host.js';
import { UsageError } from '../../errors.js';
import { compileIptables } from '../../backends/iptables/compile.js';
import { compileNftables } from '../../backends/nftables/compile.js';
import { emitNftables } from '../../emit/nftables.js';
import { nftTextForm, parseNftables } from '../../parse/nftables.js';
import { NftablesTracer, nftRulesetFamily } from '../../trace/nftables.js';
import { guessIptablesFamily, parseIptables } from '../../parse/iptables.js';
import { IptablesTracer } from '../../trace/iptables.js';
import { formatTable, formatTrace, tableJson, traceJson, type TableRow } from '../../trace/format.js';
import type { TraceNode, TracePacket, TraceProtocol } from '../../trace/packet.js';
import { serviceScenarios } from '../../trace/scenarios.js';
import { familyOf } from '../../util/ip.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { readTextFile, writeStdout } from '../io.js';
import { loadModel, previousNatChains } from '../pipeline.js';

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
  verbose?: boolean;
}

const PACKET = 'Packet:';

export function run(argv: TraceArgs, host: Host): void {
  const opts = proxyOptions(argv, host);
  const paths = argv.paths ?? [];
  if (argv.all) {
    if (argv.rules) throw new UsageError('--all compiles manifests: it cannot be combined with --rules');
    for (const f of ['src', 'dst', 'dport'] as const) if (argv[f] !== undefined) throw new UsageError(`--all chooses the packets itself: drop --${f}`);
  }
  if (argv['previous-rules'] && opts.proxyMode === 'nftables') throw new UsageError('--previous-rules applies to --proxy-mode iptables');

  let tracer: IptablesTracer | NftablesTracer;
  let node: TraceNode;
  let model: ReturnType<typeof loadModel>['model'] | undefined;
  if (argv.rules) {
    if (paths.length > 0) throw new UsageError('give either manifests to compile or --rules FILE, not both');
    const text = readTextFile(host, argv.rules);
    if (nftTextForm(text)) {
      // An nft rule set (ktables' dump or `nft list ruleset`): the file says which, whatever --proxy-mode says.
      const rs = parseNftables(text);
      node = { family: argv['ip-family'] ? opts.ipFamily : (nftRulesetFamily(rs, familyOf(argv.dst ?? '')) ?? 'ipv4'), addresses: opts.nodeIPs };
      tracer = new NftablesTracer(rs, node);
    } else {
      const family = argv['ip-family'] ? opts.ipFamily : rulesFamily(text, argv.dst);
      node = { family, addresses: opts.nodeIPs };
      tracer = new IptablesTracer(parseIptables(text, family), node);
    }
  } else {
    const loaded = loadModel(paths, opts, host);
    if (argv.verbose) for (const n of loaded.notes) host.stderr.write(`ktables: ${n}\n`);
    model = loaded.model;
    node = { family: model.node.family, addresses: model.node.nodeIPs };
    tracer =
      opts.proxyMode === 'nftables'
        ? // Through the text, so the path's line numbers point into what compile prints.
          new NftablesTracer(parseNftables(emitNftables(compileNftables(model))), node)
        : new IptablesTracer(compileIptables(model, { previousNatChains: previousNatChains(host, argv['previous-rules']) }), node);
  }

  if (argv.all) {
    const { scenarios, notes } = serviceScenarios(model!);
    // The table shows outcomes only: skip recording paths (much less to allocate on big clusters).
    const outcome = (p: TracePacket) => tracer.trace(p, { path: false });
    const rows: TableRow[] = scenarios.map((s) => ({ service: s.service, protocol: s.protocol, destination: s.destination, from: s.from, result: outcome(s.packet) }));
    if (argv.json) writeStdout(host, JSON.stringify({ rows: tableJson(rows), notes }, null, 2) + '\n');
    else {
      writeStdout(host, rows.length > 0 ? formatTable(rows) : 'no service ports to trace\n');
      for (const n of notes) writeStdout(host, `note: ${n}\n`);
    }
    return;
  }

  const packet = packetFromFlags(argv, tracer.family);
  const result = tracer.trace(packet);
  if (argv.rules && node.addresses.length === 0) result.notes.push('no --node-ip given: only loopback addresses count as local');
  writeStdout(host, argv.json ? JSON.stringify(traceJson(result), null, 2) + '\n' : formatTrace(result));
}

function packetFromFlags(argv: TraceArgs, family: 'ipv4' | 'ipv6'): TracePacket {
  const missing = (['src', 'dst', 'dport'] as const).filter((f) => argv[f] === undefined);
  if (missing.length > 0) throw new UsageError(`trace needs ${missing.map((f) => `--${f}`).join(', ')} (or --all)`);
  const protocol = String(argv.protocol ?? 'TCP').toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new UsageError(`--protocol must be TCP, UDP or SCTP (got ${argv.protocol})`);
  for (const f of ['src', 'dst'] as const) {
    const fam = familyOf(argv[f]!);
    if (!fam) throw new UsageError(`--${f}: ${JSON.stringify(argv[f])} is not an IP address`);
    if (fam !== family) {
      throw new UsageError(`--${f} ${argv[f]} is ${fam === 'ipv4' ? 'IPv4' : 'IPv6'} but the rules are ${family === 'ipv4' ? 'IPv4' : 'IPv6'}${argv.rules ? '' : ' (use --ip-family)'}`);
    }
  }
  const packet: TracePacket = { src: argv.src!, dst: argv.dst!, dport: argv.dport!, protocol: protocol as TraceProtocol };
  if (argv.sport !== undefined) packet.sport = argv.sport;
  if (argv['in-interface']) packet.inInterface = argv['in-interface'];
  if (argv['out-interface']) packet.outInterface = argv['out-interface'];
  return packet;
}

/** ip6tables-save or iptables-save? The addresses in the text say; failing that, the packet. */
function rulesFamily(text: string, dst: string | undefined): 'ipv4' | 'ipv6' {
  if (guessIptablesFamily(text) === 'ipv6') return 'ipv6';
  if (/\s-[sd]\s+(!\s*)?\d+\.\d+\.\d+\.\d+/.test(text) || /--to-destination \d+\./.test(text)) return 'ipv4';
  return (dst && familyOf(dst)) || 'ipv4';
}
