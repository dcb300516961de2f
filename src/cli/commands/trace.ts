import type { Argv } from 'yargs';
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
import { withCompileFlags, proxyOptions, type CompileFlags } from '../flags.js';
import { readTextFile } from '../io.js';
import { loadModel, previousNatChains } from '../pipeline.js';
import { renderTracePicture } from './graph.js';
import { wordsContext } from '../../graph/pictures.js';

interface Args extends CompileFlags {
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

const PACKET = 'Packet:';

export const traceCommand = {
  command: 'trace [paths..]',
  describe: 'Follow one packet through the rules: verdict, endpoints, masquerade, and every rule on the way',
  builder: (y: Argv) =>
    withCompileFlags(
      y
        .positional('paths', { type: 'string', array: true, describe: 'Manifest files or directories to compile first; - for stdin' })
        .option('src', { type: 'string', group: PACKET, describe: 'Source address (a node address or loopback: the packet starts on the node)' })
        .option('dst', { type: 'string', group: PACKET, describe: 'Destination address' })
        .option('dport', { type: 'number', group: PACKET, describe: 'Destination port' })
        .option('protocol', { type: 'string', group: PACKET, default: 'TCP', describe: 'TCP, UDP or SCTP' })
        .option('sport', { type: 'number', group: PACKET, describe: 'Source port (only if a rule matches on it)' })
        .option('in-interface', { type: 'string', group: PACKET, describe: 'Interface the packet arrives on (interface-based local detection)' })
        .option('out-interface', { type: 'string', group: PACKET, describe: 'Interface the packet leaves by (only if a rule matches on it)' })
        .option('rules', { type: 'string', describe: "Trace this rule set (a compile output or a node's iptables-save) instead of compiling" })
        .option('all', { type: 'boolean', describe: 'Trace the usual packets for every service port and print one table' })
        .option('json', { type: 'boolean', describe: 'Print JSON' })
        .option('format', { type: 'string', choices: ['text', 'json', 'mermaid', 'dot'], describe: "Output format; mermaid and dot draw one packet's path (not with --all)" })
        .option('verbose', { type: 'boolean', describe: 'Say what was skipped and which defaults were assumed' })
        .example('$0 trace svc.yaml --node-ip 192.168.0.2 --src 10.0.0.2 --dst 172.30.0.41 --dport 80', 'a pod connects to a cluster IP')
        .example('$0 trace --rules node.iptables-save --node-ip 192.168.0.2 --src 203.0.113.2 --dst 192.168.0.2 --dport 30080', "a node's real rules")
        .example('$0 trace --all svc.yaml --node-ip 192.168.0.2', 'what kube-proxy does with every Service on this node'),
    ),
  handler: (argv: Args) => {
    const opts = proxyOptions(argv);
    const paths = argv.paths ?? [];
    if (argv.all && (argv.format === 'mermaid' || argv.format === 'dot')) throw new UsageError(`--format ${argv.format} draws one packet's path: for every Service use ktables graph`);
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
      const text = readTextFile(argv.rules);
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
      const loaded = loadModel(paths, opts);
      if (argv.verbose) for (const n of loaded.notes) process.stderr.write(`ktables: ${n}\n`);
      model = loaded.model;
      node = { family: model.node.family, addresses: model.node.nodeIPs };
      tracer =
        opts.proxyMode === 'nftables'
          ? // Through the text, so the path's line numbers point into what compile prints.
            new NftablesTracer(parseNftables(emitNftables(compileNftables(model))), node)
          : new IptablesTracer(compileIptables(model, { previousNatChains: previousNatChains(argv['previous-rules']) }), node);
    }

    if (argv.all) {
      const { scenarios, notes } = serviceScenarios(model!);
      // The table shows outcomes only: skip recording paths (much less to allocate on big clusters).
      const outcome = (p: TracePacket) => tracer.trace(p, { path: false });
      const rows: TableRow[] = scenarios.map((s) => ({ service: s.service, protocol: s.protocol, destination: s.destination, from: s.from, result: outcome(s.packet) }));
      if (argv.json || argv.format === 'json') process.stdout.write(JSON.stringify({ rows: tableJson(rows), notes }, null, 2) + '\n');
      else {
        process.stdout.write(rows.length > 0 ? formatTable(rows) : 'no service ports to trace\n');
        for (const n of notes) process.stdout.write(`note: ${n}\n`);
      }
      return;
    }

    const packet = packetFromFlags(argv, tracer.family);
    const result = tracer.trace(packet);
    if (argv.rules && node.addresses.length === 0) result.notes.push('no --node-ip given: only loopback addresses count as local');
    if (argv.format === 'mermaid' || argv.format === 'dot') {
      process.stdout.write(renderTracePicture(result, argv.format, model ? wordsContext(model) : { clusterCIDRs: opts.clusterCIDRs }));
      return;
    }
    process.stdout.write(argv.json || argv.format === 'json' ? JSON.stringify(traceJson(result), null, 2) + '\n' : formatTrace(result));
  },
};

function packetFromFlags(argv: Args, family: 'ipv4' | 'ipv6'): TracePacket {
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
