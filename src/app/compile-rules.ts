// The compile pipeline: manifests and options → model → a backend's rule set → its text. Each
// stage stays ignorant of the others; this file only connects them for the commands.
import { compileIptables } from '../backends/iptables/compile.js';
import { compileNftables } from '../backends/nftables/compile.js';
import { emitIptablesChunks } from '../emit/iptables.js';
import { emitNftablesChunks } from '../emit/nftables.js';
import { loadInventory } from '../input/load.js';
import { buildModel } from '../model/build.js';
import type { ProxyOptions } from '../model/options.js';
import type { ProxyModel } from '../model/types.js';
import { parseIptables } from '../parse/iptables.js';
import { inFile } from '../parse/read.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import { nodeHost, type Host } from '../host.js';
import { InputError, UsageError } from '../errors.js';
import { readTextFile } from './read-file.js';

export interface Compiled {
  model: ProxyModel;
  notes: string[];
}

/**
 * The model of the manifests in PATHS (none: stdin). STDIN, when given, is stdin already read
 * (a command that sniffed it first: stdin cannot be read twice).
 */
export function loadModel(paths: string[], opts: ProxyOptions, host: Host = nodeHost(), stdin?: string): Compiled {
  const from = paths.length > 0 ? paths : ['-'];
  const io = stdin !== undefined && from.length === 1 && from[0] === '-' ? () => stdin : host;
  const inv = loadInventory(from, io, { allowEmpty: opts.allowEmpty });
  const notes = [...(opts.notes ?? []), ...inv.notes];
  const model = buildModel(inv, opts, notes);
  return { model, notes };
}

/** The iptables rule set of a model, deleting the stale chains of --previous-rules FILE. */
export function compileIptablesFor(host: Host, model: ProxyModel, previousRules: string | undefined): IptablesRuleset {
  return compileIptables(model, { previousNatChains: previousNatChains(host, previousRules) });
}

/** `ktables compile`: the model and its rule set as text, in pieces (built whole first, so a failure writes nothing). */
export function compileRules(
  host: Host,
  paths: string[],
  opts: ProxyOptions,
  previousRules: string | undefined,
): Compiled & { text: Iterable<string> } {
  const { model, notes } = loadModel(paths, opts, host);
  if (previousRules && opts.proxyMode !== 'iptables') throw new UsageError('--previous-rules applies to --proxy-mode iptables');
  const text =
    opts.proxyMode === 'iptables'
      ? emitIptablesChunks(compileIptablesFor(host, model, previousRules))
      : emitNftablesChunks(compileNftables(model));
  return { model, notes, text };
}

/** The nat chains of the node's iptables-save in FILE (stale-chain deletion), checked. */
export function previousNatChains(host: Host, file: string | undefined): string[] | undefined {
  if (!file) return undefined;
  const rs = inFile(file, () => parseIptables(readTextFile(host, file)));
  const names = rs.tables.find((t) => t.name === 'nat')?.chains.map((c) => c.name) ?? [];
  // Stale service chains are copied into the output (declared, flushed, deleted): only names
  // iptables itself could have printed may pass (at most 28 characters, no spaces or syntax).
  const bad = names.filter((n) => STALE_PREFIX.test(n) && !CHAIN_NAME.test(n));
  if (bad.length > 0) {
    throw new InputError(
      bad.map((n) => ({
        file,
        object: 'nat table',
        message: 'is not a valid iptables chain name (1 to 28 letters, digits, "_", ".", "-")',
        value: n,
      })),
    );
  }
  return names;
}

const STALE_PREFIX = /^KUBE-(SVC|SVL|EXT|FW|SEP)-/;
const CHAIN_NAME = /^[A-Za-z0-9_.-]{1,28}$/;
