// `ktables diff OLD NEW` (the rule diff): each side read once and told apart by content, rule
// files as they are, manifests compiled for the node the rule file (if any) comes from.
import type { Host } from '../host.js';
import { UsageError } from '../errors.js';
import { compileNftables } from '../backends/nftables/compile.js';
import type { ProxyOptions } from '../model/options.js';
import type { ProxyModel } from '../model/types.js';
import { emitIptables } from '../emit/iptables.js';
import { compareSides, type DiffResult, type SideInfo } from '../diff/compare.js';
import { compiledNftablesSide, familyOfRules, newReadContext, rulesSide, rulesSidesPair } from '../diff/sides.js';
import type { Backend, DiffSide } from '../diff/types.js';
import type { Family } from '../util/ip.js';
import { saveText, scanRules, type ScannedTable } from '../parse/scan.js';
import { inFile } from '../parse/read.js';
import { compileIptablesFor, loadModel } from './compile-rules.js';
import { readStdin, readTextFile } from './read-file.js';

export interface DiffInputs {
  old: string;
  new: string;
  /** --ip-family, if given: picks one family of a node's `nft list ruleset`. */
  family?: Family | undefined;
  /** --proxy-mode, if given. */
  proxyMode?: string | undefined;
  context: number;
  previousRules?: string | undefined;
}

/**
 * The compile options for the manifest sides, given the proxy mode and family a rule file fixes
 * (the flags, read by the caller, win over them).
 */
export type OptionsFor = (fromRules: { proxyMode?: Backend; family?: Family }) => ProxyOptions;

interface Input {
  arg: string;
  /** The text, unless the side is a directory of manifests. */
  text?: string;
  rules?: Backend;
  /** For rule files: the family of the node they are from. */
  family?: Family;
  /** iptables rule files: the text as the scanner split it (read once, not again by diff). */
  tables?: ScannedTable[];
}

/** The diff of the two sides and what compiling manifests noted. */
export function diffInputs(host: Host, d: DiffInputs, optionsFor: OptionsFor): { result: DiffResult; notes: string[] } {
  const inputs = [readInput(host, d.old), readInput(host, d.new)] as const;
  // A node's `nft list ruleset` holds both families' tables: the flag picks one.
  for (const i of inputs) if (i.rules === 'nftables' && d.family) i.family = d.family;
  const opts = sidesOptions(d, inputs, optionsFor);
  const ctx = newReadContext();
  const notes: string[] = [];
  // Every side as rule text where the backend has a pair reader (iptables): manifests as
  // `ktables compile` writes them. Two texts diff by what changed between them, so a compile
  // output against the manifests it came from costs no more than two rule files.
  const texts = inputs.map((input) =>
    input.rules
      ? { rules: input.rules, text: input.text!, family: input.family!, tables: input.tables }
      : compiledText(host, input, opts, d.previousRules, notes),
  );
  const [o, n] = texts;
  const sides =
    o && n && o.rules === n.rules
      ? rulesSidesPair(o.rules, o.text, n.text, ctx, [o.family, n.family], [o.tables, n.tables], [inputs[0].arg, inputs[1].arg])
      : inputs.map((input, i) =>
          texts[i]
            ? inFile(input.arg, () => rulesSide(texts[i]!.rules, texts[i]!.text, ctx, texts[i]!.family, texts[i]!.tables))
            : sideOf(host, input, opts, notes),
        );
  const info = inputs.map((input, i): SideInfo => ({
    source: input.arg,
    input: input.rules === 'iptables' ? 'iptables-rules' : input.rules === 'nftables' ? 'nftables-rules' : 'manifests',
    backend: sides[i]!.backend,
    family: sides[i]!.family,
  }));
  const result = compareSides(sides[0]!, sides[1]!, { old: info[0]!, new: info[1]! }, { context: d.context, acrossReleases: true });
  return { result, notes };
}

function withRules(host: Host, arg: string, input: string): Input {
  // One reader for every command: the scanner cleans a paste and turns `iptables -S` output
  // and fragments into iptables-save form; plain iptables-save goes through untouched, so the
  // listings show the dump's own lines.
  const scanned = inFile(arg, () => scanRules(input));
  for (const w of scanned.warnings) host.stderr.write(`ktables: warning: ${arg}: ${w}\n`);
  for (const n of scanned.notes) host.stderr.write(`ktables: note: ${arg}: ${n}\n`);
  if (scanned.format === 'manifests') return { arg, text: input };
  const rules: Backend = scanned.format.startsWith('nft') ? 'nftables' : 'iptables';
  const plain = scanned.format === 'iptables-save' && scanned.warnings.length === 0;
  const text = scanned.tables && !plain ? saveText(scanned.tables) : scanned.text;
  return { arg, text, rules, family: familyOfRules(rules, text), ...(scanned.tables && { tables: scanned.tables }) };
}

function readInput(host: Host, arg: string): Input {
  if (arg === '-') return withRules(host, arg, readStdin(host));
  let dir = false;
  try {
    dir = host.fs.statSync(arg).isDirectory();
  } catch {
    // readTextFile reports a missing file the usual way.
  }
  if (dir) return { arg };
  return withRules(host, arg, readTextFile(host, arg));
}

/**
 * The compile options for the manifest sides. A rule file fixes the proxy mode and IP family
 * of the node it came from; unless the flags say otherwise, manifests are compiled to match.
 */
function sidesOptions(d: DiffInputs, inputs: readonly Input[], optionsFor: OptionsFor): ProxyOptions {
  const kinds = [...new Set(inputs.map((i) => i.rules).filter((k): k is Backend => k !== undefined))];
  if (kinds.length > 1)
    throw new UsageError(
      `${d.old} holds ${inputs[0]!.rules} rules and ${d.new} ${inputs[1]!.rules} rules: compare rule sets of one proxy mode`,
    );
  const mode = kinds[0];
  if (mode && d.proxyMode && d.proxyMode !== mode) {
    const which = inputs.find((i) => i.rules === mode)!.arg;
    throw new UsageError(`${which} holds ${mode} rules but --proxy-mode is ${d.proxyMode}`);
  }
  const family = inputs.find((i) => i.family)?.family;
  return optionsFor({ ...(mode && { proxyMode: mode }), ...(family && { family }) });
}

function compile(host: Host, input: Input, opts: ProxyOptions, notes: string[]): ProxyModel {
  // The same stages as `ktables compile`.
  const compiled = loadModel([input.arg], opts, host, input.arg === '-' ? (input.text ?? '') : undefined);
  notes.push(...compiled.notes);
  return compiled.model;
}

/** Manifests compiled for iptables, as the text `ktables compile` prints; undefined for nftables. */
function compiledText(
  host: Host,
  input: Input,
  opts: ProxyOptions,
  previousRules: string | undefined,
  notes: string[],
): { rules: Backend; text: string; family: Family; tables?: ScannedTable[] | undefined } | undefined {
  if (opts.proxyMode !== 'iptables') return undefined;
  const model = compile(host, input, opts, notes);
  return { rules: 'iptables', text: emitIptables(compileIptablesFor(host, model, previousRules)), family: model.node.family };
}

function sideOf(host: Host, input: Input, opts: ProxyOptions, notes: string[]): DiffSide {
  const model = compile(host, input, opts, notes);
  return compiledNftablesSide(compileNftables(model), model.node.family);
}
