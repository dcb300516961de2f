import type { Host } from '../../host.js';
import { EXIT, UsageError } from '../../errors.js';
import { compileIptables } from '../../backends/iptables/compile.js';
import { compileNftables } from '../../backends/nftables/compile.js';
import { loadInventory } from '../../input/load.js';
import { buildModel } from '../../model/build.js';
import type { ProxyOptions } from '../../model/options.js';
import type { ProxyModel } from '../../model/types.js';
import { emitIptables } from '../../emit/iptables.js';
import { compareSides, type DiffResult, type SideInfo } from '../../diff/compare.js';
import { formatJson } from '../../diff/format/json.js';
import { formatMarkdown } from '../../diff/format/markdown.js';
import { formatText } from '../../diff/format/text.js';
import { compiledNftablesSide, familyOfRules, newReadContext, rulesSide, rulesSidesPair } from '../../diff/sides.js';
import type { Family } from '../../util/ip.js';
import type { Backend, DiffSide } from '../../diff/types.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { outputFlag, readStdin, readTextFile, writeOutput } from '../io.js';
import { saveText, scanRules, type ScannedTable } from '../../parse/scan.js';
import { inFile } from '../../parse/read.js';
import { parseNftables } from '../../parse/nftables.js';
import { loadModel, previousNatChains } from '../pipeline.js';
import { behaviourDiff, checkSideFlags } from './diff-behaviour.js';

export interface DiffArgs extends CompileFlags {
  old: string;
  new: string;
  format: 'text' | 'json' | 'markdown';
  stat?: boolean;
  'exit-code'?: boolean;
  color: 'auto' | 'always' | 'never';
  context: number;
  output?: string;
  verbose?: boolean;
}

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

function withRules(host: Host, arg: string, input: string): Input {
  // One reader for every command: the scanner cleans a paste and turns `iptables -S` output
  // and fragments into iptables-save form; plain iptables-save goes through untouched, so the
  // listings show the dump's own lines.
  const scanned = inFile(arg, () => scanRules(input));
  for (const w of scanned.warnings) host.stderr.write(`ktables: warning: ${arg}: ${w}\n`);
  for (const n of scanned.notes) host.stderr.write(`ktables: note: ${arg}: ${n}\n`);
  if (scanned.format === 'manifests') return { arg, text: input };
  const rules: Backend = scanned.format.startsWith('nft') ? 'nftables' : 'iptables';
  // Read once here so that an error names the file (the diff readers see only text).
  if (rules === 'nftables') inFile(arg, () => parseNftables(scanned.text));
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

function wantColor(host: Host, choice: DiffArgs['color'], output: string | undefined): boolean {
  if (choice === 'always') return true;
  if (choice === 'never' || (output && output !== '-')) return false;
  const noColor = host.env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  return host.stdout.isTTY && host.env['TERM'] !== 'dumb';
}

export function run(argv: DiffArgs, host: Host): number {
  if ((argv as { behaviour?: boolean }).behaviour) return behaviourDiff(argv as unknown as Parameters<typeof behaviourDiff>[0], host);
  checkSideFlags(argv as unknown as Record<string, unknown>);
  const output = outputFlag(argv.output);
  // yargs hands a lone `-` to a positional as '' (or true): an empty path means nothing else.
  for (const k of ['old', 'new'] as const) if ((argv[k] as unknown) === '' || (argv[k] as unknown) === true) argv[k] = '-';
  if (argv.old === '-' && argv.new === '-') throw new UsageError('only one side can be read from stdin');
  if (!Number.isInteger(argv.context) || argv.context < 0) throw new UsageError('--context must be a whole number');
  const inputs = [readInput(host, argv.old), readInput(host, argv.new)] as const;
  // A node's `nft list ruleset` holds both families' tables: the flag picks one.
  for (const i of inputs) if (i.rules === 'nftables' && argv['ip-family']) i.family = argv['ip-family'] as Family;
  const opts = optionsFor(host, argv, inputs);
  const ctx = newReadContext();
  const notes: string[] = [];
  // Every side as rule text where the backend has a pair reader (iptables): manifests as
  // `ktables compile` writes them. Two texts diff by what changed between them, so a compile
  // output against the manifests it came from costs no more than two rule files.
  const texts = inputs.map((input) =>
    input.rules
      ? { rules: input.rules, text: input.text!, family: input.family!, tables: input.tables }
      : compiledText(host, input, opts, argv, notes),
  );
  const [o, n] = texts;
  const sides =
    o && n && o.rules === n.rules
      ? rulesSidesPair(o.rules, o.text, n.text, ctx, [o.family, n.family], [o.tables, n.tables])
      : inputs.map((input, i) =>
          texts[i] ? rulesSide(texts[i]!.rules, texts[i]!.text, ctx, texts[i]!.family, texts[i]!.tables) : sideOf(host, input, opts, notes),
        );
  if (argv.verbose) for (const n of notes) host.stderr.write(`ktables: ${n}\n`);
  const info = inputs.map((input, i): SideInfo => ({
    source: input.arg,
    input: input.rules === 'iptables' ? 'iptables-rules' : input.rules === 'nftables' ? 'nftables-rules' : 'manifests',
    backend: sides[i]!.backend,
    family: sides[i]!.family,
  }));
  const result = compareSides(sides[0]!, sides[1]!, { old: info[0]!, new: info[1]! }, { context: argv.context, acrossReleases: true });
  writeOutput(host, render(host, result, argv), output);
  return argv['exit-code'] && !result.identical ? EXIT.differences : EXIT.ok;
}

function render(host: Host, r: DiffResult, argv: DiffArgs): string {
  const stat = !!argv.stat;
  if (argv.format === 'json') return formatJson(r, { stat });
  if (argv.format === 'markdown') return formatMarkdown(r, { stat });
  return formatText(r, { stat, color: wantColor(host, argv.color, argv.output) });
}

/**
 * The compile options for the manifest sides. A rule file fixes the proxy mode and IP family
 * of the node it came from; unless the flags say otherwise, manifests are compiled to match.
 */
function optionsFor(host: Host, argv: DiffArgs, inputs: readonly Input[]): ProxyOptions {
  const kinds = [...new Set(inputs.map((i) => i.rules).filter((k): k is Backend => k !== undefined))];
  if (kinds.length > 1)
    throw new UsageError(
      `${argv.old} holds ${inputs[0]!.rules} rules and ${argv.new} ${inputs[1]!.rules} rules: compare rule sets of one proxy mode`,
    );
  const mode = kinds[0];
  if (mode && argv['proxy-mode'] && argv['proxy-mode'] !== mode) {
    const which = inputs.find((i) => i.rules === mode)!.arg;
    throw new UsageError(`${which} holds ${mode} rules but --proxy-mode is ${argv['proxy-mode']}`);
  }
  const family = inputs.find((i) => i.family)?.family;
  const flags: CompileFlags = { ...argv };
  if (mode && !argv['proxy-mode']) flags['proxy-mode'] = mode;
  if (family && !argv['ip-family']) flags['ip-family'] = family;
  return proxyOptions(flags, host);
}

function compile(host: Host, input: Input, opts: ProxyOptions, notes: string[]): ProxyModel {
  // The same stages as `ktables compile`.
  const compiled =
    input.arg === '-'
      ? (() => {
          const inv = loadInventory(['-'], () => input.text ?? '', { allowEmpty: opts.allowEmpty });
          const n: string[] = [...inv.notes];
          return { model: buildModel(inv, opts, n), notes: n };
        })()
      : loadModel([input.arg], opts, host);
  notes.push(...compiled.notes);
  return compiled.model;
}

/** Manifests compiled for iptables, as the text `ktables compile` prints; undefined for nftables. */
function compiledText(
  host: Host,
  input: Input,
  opts: ProxyOptions,
  argv: DiffArgs,
  notes: string[],
): { rules: Backend; text: string; family: Family; tables?: ScannedTable[] | undefined } | undefined {
  if (opts.proxyMode !== 'iptables') return undefined;
  const model = compile(host, input, opts, notes);
  const rs = compileIptables(model, { previousNatChains: previousNatChains(host, argv['previous-rules']) });
  return { rules: 'iptables', text: emitIptables(rs), family: model.node.family };
}

function sideOf(host: Host, input: Input, opts: ProxyOptions, notes: string[]): DiffSide {
  const model = compile(host, input, opts, notes);
  return compiledNftablesSide(compileNftables(model), model.node.family);
}
