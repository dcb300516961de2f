// Wiring of the stages: input → model → backend → emit. Each stage stays ignorant of the
// others; this file only connects them for the commands.
import { loadInventory } from '../input/load.js';
import { buildModel } from '../model/build.js';
import type { ProxyOptions } from '../model/options.js';
import type { ProxyModel } from '../model/types.js';
import { parseIptables } from '../parse/iptables.js';
import { inFile } from '../parse/read.js';
import { nodeHost, type Host } from '../host.js';
import { readTextFile } from './io.js';
import { InputError } from '../errors.js';

export interface Compiled {
  model: ProxyModel;
  notes: string[];
}

export function loadModel(paths: string[], opts: ProxyOptions, host: Host = nodeHost()): Compiled {
  const inv = loadInventory(paths.length > 0 ? paths : ['-'], host, { allowEmpty: opts.allowEmpty });
  const notes = [...(opts.notes ?? []), ...inv.notes];
  const model = buildModel(inv, opts, notes);
  return { model, notes };
}

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
