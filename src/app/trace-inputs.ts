// What `ktables trace` follows a packet through: a rules file as given (either backend, in the
// format its content says) or manifests compiled as `ktables compile` would.
import { familyOf } from '../util/ip.js';
import { UsageError } from '../errors.js';
import type { Host } from '../host.js';
import { compileNftables } from '../backends/nftables/compile.js';
import type { ProxyOptions } from '../model/options.js';
import type { ProxyModel } from '../model/types.js';
import { ownershipNotes } from '../parse/owners.js';
import { readIptablesLazily } from '../parse/lazy-iptables.js';
import { inFile, readRules, type ReadRules } from '../parse/read.js';
import { SOURCE_LINES } from '../ir/lines.js';
import { IptablesTracer } from '../trace/iptables.js';
import { NftablesTracer, nftRulesetFamily } from '../trace/nftables.js';
import { iptablesServices, nftablesServices, type DumpServices } from '../trace/dump-services.js';
import type { TraceNode } from '../trace/packet.js';
import { compileIptablesFor, loadModel } from './compile-rules.js';
import { readTextFile } from './read-file.js';

export interface TraceInputs {
  paths: string[];
  /** --rules FILE. */
  rules?: string | undefined;
  /** --ip-family was given (else the rules file or the manifests say). */
  familyGiven: boolean;
  /** --dst, whose family is the fallback for a rules file without addresses. */
  dst?: string | undefined;
  /** --all: also read which service ports a rules file shows. */
  all: boolean;
  previousRules?: string | undefined;
}

export interface Traced {
  /** Undefined only for --all over a dump with no service ports (nothing to trace). */
  tracer: IptablesTracer | NftablesTracer;
  node: TraceNode;
  /** The compiled manifests, if any. */
  model?: ProxyModel;
  /** What the rules file shows (--all --rules). */
  dump?: DumpServices;
  /** What reading the rules file noted (shown with the result). */
  fileNotes: string[];
  /** What compiling noted (shown with --verbose). */
  compileNotes: string[];
}

export function traceInputs(host: Host, input: TraceInputs, opts: ProxyOptions): Traced {
  if (input.previousRules && opts.proxyMode === 'nftables') throw new UsageError('--previous-rules applies to --proxy-mode iptables');
  const out: Partial<Traced> & { fileNotes: string[]; compileNotes: string[] } = { fileNotes: [], compileNotes: [] };
  let paths = input.paths;
  if (input.rules) {
    if (paths.length > 0) throw new UsageError('give either manifests to compile or --rules FILE, not both');
    const text = readTextFile(host, input.rules);
    const family = input.familyGiven ? opts.ipFamily : undefined;
    const fallback = (input.dst && familyOf(input.dst)) || 'ipv4';
    // A plain iptables-save dump is split into chains and a chain parsed when the walk enters
    // it; anything the full reader has more to say about is read by it.
    const lazy = inFile(input.rules, () => readIptablesLazily(text, family, fallback));
    const read: ReadRules = lazy
      ? { kind: 'iptables', format: 'iptables-save', ruleset: lazy.ruleset, text, notes: lazy.notes, warnings: [] }
      : readRules(text, input.rules, family, fallback);
    for (const w of read.warnings) host.stderr.write(`ktables: warning: ${input.rules}: ${w}\n`);
    out.fileNotes.push(...read.notes);
    if (read.kind === 'manifests') {
      // Manifests given as --rules: compiled like any manifest, as the user surely meant.
      out.fileNotes.push(`${input.rules} holds manifests, not rules: compiled`);
      paths = [input.rules];
    } else if (read.kind === 'nftables') {
      // An nft rule set (ktables' dump or `nft list ruleset`): the file says which, whatever --proxy-mode says.
      const rs = read.ruleset;
      const family = input.familyGiven ? opts.ipFamily : (nftRulesetFamily(rs, familyOf(input.dst ?? '')) ?? 'ipv4');
      if (input.all) {
        out.dump = nftablesServices(rs, family, opts.nodeIPs);
        const others = rs.tables.filter((t) => t.name !== 'kube-proxy').map((t) => `${t.family} ${t.name}`);
        if (others.length > 0) out.fileNotes.push(`tables that are not kube-proxy's (not traced): ${others.join(', ')}`);
        if (rs.tables.some((t) => t.name === 'filter' || t.name === 'nat') && !rs.tables.some((t) => t.name === 'kube-proxy')) {
          out.fileNotes.push(
            "no kube-proxy table: this listing is iptables-nft's translation of iptables rules; trace the node's iptables-save instead",
          );
        }
      }
      out.node = { family, addresses: out.dump?.node.nodeIPs ?? opts.nodeIPs };
      out.tracer =
        out.dump && out.dump.servicePorts.length === 0 ? (undefined as unknown as NftablesTracer) : new NftablesTracer(rs, out.node);
      return out as Traced;
    } else {
      const rs = read.ruleset;
      out.node = { family: rs.family, addresses: opts.nodeIPs };
      out.fileNotes.push(...ownershipNotes(rs));
      if (input.all) out.dump = iptablesServices(rs, opts.nodeIPs);
      // Lines as the file gives them (a rule set without rules has none to name).
      out.tracer = new IptablesTracer(rs, out.node, { lines: SOURCE_LINES });
      return out as Traced;
    }
  }
  const loaded = loadModel(paths, opts, host);
  out.compileNotes = loaded.notes;
  const model = loaded.model;
  out.model = model;
  out.node = { family: model.node.family, addresses: model.node.nodeIPs };
  out.tracer =
    opts.proxyMode === 'nftables'
      ? // Straight from the IR: the tracer names lines by where the emitter puts each rule.
        new NftablesTracer(compileNftables(model), out.node)
      : new IptablesTracer(compileIptablesFor(host, model, input.previousRules), out.node);
  return out as Traced;
}
