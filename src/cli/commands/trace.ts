import type { Host } from '../../host.js';
import { UsageError } from '../../errors.js';
import { compileIptables } from '../../backends/iptables/compile.js';
import { compileNftables } from '../../backends/nftables/compile.js';
import { emitNftables } from '../../emit/nftables.js';
import { parseNftables } from '../../parse/nftables.js';
import { NftablesTracer, nftRulesetFamily } from '../../trace/nftables.js';
import { inFile, readRules } from '../../parse/read.js';
import { ownershipNotes } from '../../parse/owners.js';
import { IptablesTracer } from '../../trace/iptables.js';
import { iptablesServices, nftablesServices, type DumpServices } from '../../trace/dump-services.js';
import { formatTable, formatTrace, tableJson, traceJson, type TableRow } from '../../trace/format.js';
import type { TraceNode, TracePacket, TraceProtocol } from '../../trace/packet.js';
import { serviceScenarios } from '../../trace/scenarios.js';
import { familyOf, type Family } from '../../util/ip.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { readTextFile, writeStdout } from '../io.js';
import { interfaceNameProblem } from '../../input/ifname.js';
import { echo } from '../flag-values.js';
import { loadModel, previousNatChains } from '../pipeline.js';
import { renderTracePicture } from './graph.js';
import { wordsContext } from '../../graph/pictures.js';

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
  const paths = argv.paths ?? [];
  if (argv.all && (argv.format === 'mermaid' || argv.format === 'dot'))
    throw new UsageError(`--format ${argv.format} draws one packet's path: for every Service use ktables graph`);
  if (argv.all) {
    for (const f of ['src', 'dst', 'dport'] as const)
      if (argv[f] !== undefined) throw new UsageError(`--all chooses the packets itself: drop --${f}`);
  }
  if (argv['previous-rules'] && opts.proxyMode === 'nftables') throw new UsageError('--previous-rules applies to --proxy-mode iptables');

  let tracer!: IptablesTracer | NftablesTracer;
  let node!: TraceNode;
  let model: ReturnType<typeof loadModel>['model'] | undefined;
  // What the rules file shows (trace --all --rules) and what reading it noted.
  let dump: DumpServices | undefined;
  const fileNotes: string[] = [];
  let rulesPaths = paths;
  if (argv.rules) {
    if (paths.length > 0) throw new UsageError('give either manifests to compile or --rules FILE, not both');
    const text = readTextFile(host, argv.rules);
    const read = readRules(text, argv.rules, argv['ip-family'] ? opts.ipFamily : undefined, (argv.dst && familyOf(argv.dst)) || 'ipv4');
    for (const w of read.warnings) host.stderr.write(`ktables: warning: ${argv.rules}: ${w}\n`);
    fileNotes.push(...read.notes);
    if (read.kind === 'manifests') {
      // Manifests given as --rules: compiled like any manifest, as the user surely meant.
      fileNotes.push(`${argv.rules} holds manifests, not rules: compiled`);
      rulesPaths = [argv.rules];
    } else if (read.kind === 'nftables') {
      // An nft rule set (ktables' dump or `nft list ruleset`): the file says which, whatever --proxy-mode says.
      const rs = read.ruleset;
      const family = argv['ip-family'] ? opts.ipFamily : (nftRulesetFamily(rs, familyOf(argv.dst ?? '')) ?? 'ipv4');
      if (argv.all) {
        dump = nftablesServices(rs, family, opts.nodeIPs);
        const others = rs.tables.filter((t) => t.name !== 'kube-proxy').map((t) => `${t.family} ${t.name}`);
        if (others.length > 0) fileNotes.push(`tables that are not kube-proxy's (not traced): ${others.join(', ')}`);
        if (rs.tables.some((t) => t.name === 'filter' || t.name === 'nat') && !rs.tables.some((t) => t.name === 'kube-proxy')) {
          fileNotes.push(
            "no kube-proxy table: this listing is iptables-nft's translation of iptables rules; trace the node's iptables-save instead",
          );
        }
      }
      node = { family, addresses: dump?.node.nodeIPs ?? opts.nodeIPs };
      tracer = dump && dump.servicePorts.length === 0 ? (undefined as unknown as NftablesTracer) : new NftablesTracer(rs, node);
    } else {
      const rs = read.ruleset;
      node = { family: rs.family, addresses: opts.nodeIPs };
      fileNotes.push(...ownershipNotes(rs));
      if (argv.all) dump = iptablesServices(rs, opts.nodeIPs);
      tracer = new IptablesTracer(rs, node);
    }
  }
  if (!argv.rules || rulesPaths !== paths) {
    const loaded = loadModel(rulesPaths, opts, host);
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
    const found = serviceScenarios(dump ?? model!);
    const notes = [...fileNotes, ...(dump?.notes ?? []), ...found.notes];
    if (dump) notes.unshift(`${dump.servicePorts.length} service port${dump.servicePorts.length === 1 ? '' : 's'} found in the rules`);
    // The table shows outcomes only: skip recording paths (much less to allocate on big clusters).
    // A rule-file error (a jump loop ...) names the file.
    const outcome = (p: TracePacket) =>
      argv.rules ? inFile(argv.rules, () => tracer.trace(p, { path: false })) : tracer.trace(p, { path: false });
    const rows: TableRow[] = found.scenarios.map((s) => ({
      service: s.service,
      protocol: s.protocol,
      destination: s.destination,
      from: s.from,
      result: outcome(s.packet),
    }));
    // Each reason a row is conditional, once, with how many rows it concerns.
    const conditions = new Map<string, number>();
    for (const r of rows) for (const c of r.result.conditions ?? []) conditions.set(c, (conditions.get(c) ?? 0) + 1);
    // Interfaces the rows assumed (rules that match one), once each.
    for (const r of rows) for (const n of r.result.notes) if (n.includes(': assumed ') && !notes.includes(n)) notes.push(n);
    if (argv.json || argv.format === 'json')
      writeStdout(host, JSON.stringify({ rows: tableJson(rows), notes, conditions: [...conditions.keys()] }, null, 2) + '\n');
    else {
      writeStdout(host, rows.length > 0 ? formatTable(rows) : 'no service ports to trace\n');
      for (const [c, n] of conditions) writeStdout(host, `conditional (?, ${n} row${n === 1 ? '' : 's'}): ${c}\n`);
      for (const n of notes) writeStdout(host, `note: ${n}\n`);
    }
    return;
  }

  const packet = packetFromFlags(argv, tracer.family);
  const result = argv.rules ? inFile(argv.rules, () => tracer.trace(packet)) : tracer.trace(packet);
  result.notes.push(...fileNotes);
  if (argv.rules && node.addresses.length === 0) result.notes.push('no --node-ip given: only loopback addresses count as local');
  if (argv.format === 'mermaid' || argv.format === 'dot') {
    writeStdout(host, renderTracePicture(result, argv.format, model ? wordsContext(model) : { clusterCIDRs: opts.clusterCIDRs }));
    return;
  }
  writeStdout(host, argv.json || argv.format === 'json' ? JSON.stringify(traceJson(result), null, 2) + '\n' : formatTrace(result));
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
