// Turning an input into a DiffSide: which kind of rules a text holds, and the adapter for each
// backend: iptables.ts and nftables.ts turn each IR into the backend-neutral DiffSide.
import { parseNftables } from '../parse/nftables.js';
import { nftablesSide } from './nftables.js';
import { rulesFamily as familyOfRules } from '../parse/read.js';
import type { ScannedTable } from '../parse/scan.js';
import { detectIptablesRelease } from '../kubeproxy/detect.js';
import { iptablesSide } from './iptables.js';
import { readIptablesPair } from './prefilter.js';
import { readNftablesPair } from '../parse/nftables-pair.js';
import { inFile } from '../parse/read.js';
import { scanIptables, toRuleset } from '../parse/chain-cache.js';
import { newDiffRun, type DiffRun } from './run.js';
import type { Backend, DiffSide } from './types.js';
import type { Family } from '../util/ip.js';

/** State shared by the two sides of one diff (run.ts), so identical lines are read only once. */
export type ReadContext = DiffRun;
export { newDiffRun as newReadContext };

/** The family of a rules text (parse/read.ts). */
export { familyOfRules };

export function rulesSide(
  kind: Backend,
  text: string,
  ctx: ReadContext,
  family: Family = familyOfRules(kind, text),
  scanned?: ScannedTable[],
): DiffSide {
  if (kind === 'iptables') return withRelease(iptablesSide(toRuleset(scanIptables(text, family, scanned), ctx), ctx), text);
  return nftablesSide(parseNftables(text), family, ctx);
}

/**
 * Both sides at once, when both are rule files: reads only what can differ (prefilter.ts for
 * iptables, nftables-pair.ts for nftables), so two large, mostly equal rule sets diff in a
 * fraction of the time. `sources` name the files in nftables parse errors.
 */
export function rulesSidesPair(
  kind: Backend,
  oldText: string,
  newText: string,
  ctx: ReadContext,
  families?: [Family, Family],
  scanned?: [ScannedTable[] | undefined, ScannedTable[] | undefined],
  sources?: [string, string],
): [DiffSide, DiffSide] {
  const fam = families ?? [familyOfRules(kind, oldText), familyOfRules(kind, newText)];
  if (kind !== 'iptables') {
    const parse = (i: 0 | 1, text: string) => (sources ? inFile(sources[i], () => parseNftables(text)) : parseNftables(text));
    const pair = readNftablesPair(oldText, newText, fam, parse);
    if (!pair) return [nftablesSide(parse(0, oldText), fam[0], ctx), nftablesSide(parse(1, newText), fam[1], ctx)];
    const side = (i: 0 | 1) =>
      withUnchangedPorts(withNftRelease(nftablesSide(pair[i].ruleset, fam[i], ctx), pair[i].release), pair[i].unchanged);
    return [side(0), side(1)];
  }
  const [a, b] = readIptablesPair(oldText, newText, fam, ctx, scanned);
  return [withRelease(iptablesSide(a, ctx), oldText), withRelease(iptablesSide(b, ctx), newText)];
}

/** The release the whole nftables text shows (the pair reader leaves out rules that tell it). */
function withNftRelease(side: DiffSide, release: string | undefined): DiffSide {
  const { release: _, ...rest } = side;
  return release ? { ...rest, release } : rest;
}

/** iptables text tells its release by its counters (kubeproxy/detect.ts). */
function withRelease(side: DiffSide, text: string): DiffSide {
  const release = detectIptablesRelease(text);
  return release ? { ...side, release } : side;
}

/** A compile's nftables rule set (no text to share with the other side). */
export { nftablesSide as compiledNftablesSide };

/** A side with the ports the pair reader left out put back, as ports with nothing to compare. */
function withUnchangedPorts(side: DiffSide, unchanged: Set<string>): DiffSide {
  for (const name of unchanged) {
    if (side.services.has(name)) continue;
    side.services.set(name, {
      name,
      protocol: '',
      chains: [],
      summary: () => {
        throw new Error(`service port ${name} was left out as unchanged`);
      },
    });
  }
  return side;
}
