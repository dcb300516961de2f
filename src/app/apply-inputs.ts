// What `ktables apply` loads: a rules file as given (either backend, in the format its content
// says) or manifests compiled for the node apply finds (apply/sources.ts).
import type { Family } from '../util/ip.js';
import { UsageError } from '../errors.js';
import type { Host } from '../host.js';
import type { ProxyOptions } from '../model/options.js';
import type { RulesSource } from '../apply/execute.js';
import { modelSource } from '../apply/sources.js';
import { withStaleChains } from '../backends/iptables/stale.js';
import { excerpt } from '../util/text.js';
import { loadModel } from './compile-rules.js';
import { readRulesFile } from './read-rules.js';

export interface ApplyInputs {
  paths: string[];
  /** --rules FILE: loaded as given, or compiled if it holds manifests. */
  rules?: string | undefined;
  /** --ip-family, if given. */
  family?: Family | undefined;
}

/** The rules to load and the notes of compiling them (empty for a rules file). */
export function applyInputs(host: Host, input: ApplyInputs, opts: ProxyOptions): { source: RulesSource; notes: string[] } {
  if (input.rules && input.paths.length > 0) throw new UsageError('give either manifests to compile or --rules FILE, not both');
  const source = input.rules ? fileSource(host, input.rules, input.family) : undefined;
  if (source) return { source, notes: [] };
  // No --rules, or a --rules file that holds manifests: compile.
  const { model, notes } = loadModel(input.rules ? [input.rules] : input.paths, opts, host);
  return { source: modelSource(model, opts.proxyMode), notes };
}

/**
 * A rules file as given, in the format its content says (whatever --proxy-mode says); stale
 * service chains on the node are still deleted, as kube-proxy would. A file cut short is
 * refused: loading half a rule set would leave the node with less than either state.
 * Undefined: the file holds manifests (the caller compiles them).
 */
function fileSource(host: Host, file: string, family: Family | undefined): RulesSource | undefined {
  const read = readRulesFile(host, file, family);
  if (read.kind === 'manifests') return undefined;
  for (const n of read.notes) host.stderr.write(`ktables: note: ${file}: ${n}\n`);
  if (read.warnings.length > 0) throw new UsageError(`${file}: ${read.warnings[0]}: apply loads only a complete rule set`);
  if (read.kind === 'nftables') {
    const fam = family ?? (/^\s*(add\s+)?table\s+ip6\s/m.test(read.text) ? 'ipv6' : 'ipv4');
    return { backend: 'nftables', family: fam, payload: read.text };
  }
  const parsed = read.ruleset;
  for (const t of parsed.tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        // A NAT target whose address did not survive (iptables binaries of two versions on one
        // node): iptables-restore refuses the whole payload, so say which line first.
        if (
          r.target?.kind === 'other' &&
          /^-j\s+(DNAT|SNAT)\b/.test(r.target.text) &&
          !/--to-(destination|source)\s+[^\s-]/.test(r.target.text)
        ) {
          throw new UsageError(
            `${file}: line ${r.source?.line ?? '?'}: ${t.name} ${c.name}: the NAT target has no readable address (${excerpt(r.target.text, 80)}): iptables-restore would refuse the rule set`,
          );
        }
      }
    }
  }
  const sets = new Set<string>();
  for (const t of parsed.tables)
    for (const c of t.chains)
      for (const r of c.rules)
        for (const m of r.matches) if (m.kind === 'other') for (const x of m.text.matchAll(/--match-set\s+(\S+)/g)) sets.add(x[1]!);
  if (sets.size > 0)
    host.stderr.write(
      `ktables: note: ${file}: the rules match ipsets (${[...sets].map((x) => excerpt(x, 40)).join(', ')}): iptables-restore needs them on the target\n`,
    );
  if (parsed.tables.length === 0) throw new UsageError(`${file}: no table: nothing to apply`);
  return {
    backend: 'iptables',
    family: parsed.family,
    build: ({ previousNatChains }) => ({ ruleset: withStaleChains(parsed, previousNatChains), notes: [] }),
  };
}
