// Wiring of the stages: input → model → backend → emit. Each stage stays ignorant of the
// others; this file only connects them for the commands.
import { loadInventory } from '../input/load.js';
import { buildModel } from '../model/build.js';
import type { ProxyOptions } from '../model/options.js';
import type { ProxyModel } from '../model/types.js';
import { compileIptables } from '../backends/iptables/compile.js';
import { emitIptables } from '../emit/iptables.js';
import { parseIptables } from '../parse/iptables.js';
import { inFile } from '../parse/read.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import { readStdin, readTextFile } from './io.js';

export interface Compiled {
  model: ProxyModel;
  notes: string[];
}

export function loadModel(paths: string[], opts: ProxyOptions): Compiled {
  const inv = loadInventory(paths.length > 0 ? paths : ['-'], readStdin);
  const notes = inv.notes;
  const model = buildModel(inv, opts, notes);
  return { model, notes };
}

export function previousNatChains(file: string | undefined): string[] | undefined {
  if (!file) return undefined;
  const rs = inFile(file, () => parseIptables(readTextFile(file)));
  return rs.tables.find((t) => t.name === 'nat')?.chains.map((c) => c.name) ?? [];
}

export function compileIptablesText(model: ProxyModel, previousRules?: string): { ruleset: IptablesRuleset; text: string } {
  const ruleset = compileIptables(model, { previousNatChains: previousNatChains(previousRules) });
  return { ruleset, text: emitIptables(ruleset) };
}
