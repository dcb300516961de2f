import { statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
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
import { compiledNftablesSide, detectRules, familyOfRules, newReadContext, rulesSide, rulesSidesPair, type ReadContext } from '../../diff/sides.js';
import type { Backend, DiffSide, Family } from '../../diff/types.js';
import { withCompileFlags, proxyOptions, type CompileFlags } from '../flags.js';
import { readStdin, readTextFile, writeOutput } from '../io.js';
import { loadModel, previousNatChains } from '../pipeline.js';
import { behaviourDiff, checkSideFlags, withBehaviourFlags } from './diff-behaviour.js';

interface Args extends CompileFlags {
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
}

const EPILOG = `Each side is a rule file or manifests, told apart by content: a file whose first line that is not
blank or a # comment starts with '*' is iptables-save / iptables-restore text; one starting with
'table', 'add', 'flush' or 'delete' is nftables; anything else (and any directory) is Service and
EndpointSlice manifests, compiled with the flags above for both sides. '-' reads one side from stdin.

Chain order, rule spelling (/32, option order, probability digits, MARK forms), comments and the
hashed names of per-service chains are not differences; rule order within a chain is.

Exit status with --exit-code: 0 no semantic difference, 1 differences, 2 error (as git diff).

--behaviour compares what happens to packets instead (every entry point, every client), with
--old-X / --new-X for any compile flag X on one side: docs/behaviour.md.`;

function withRules(arg: string, text: string): Input {
  const rules = detectRules(text);
  return rules ? { arg, text, rules, family: familyOfRules(rules, text) } : { arg, text };
}

function readInput(arg: string): Input {
  if (arg === '-') return withRules(arg, readStdin());
  let dir = false;
  try {
    dir = statSync(arg).isDirectory();
  } catch {
    // readTextFile reports a missing file the usual way.
  }
  if (dir) return { arg };
  return withRules(arg, readTextFile(arg));
}

function wantColor(choice: Args['color'], output: string | undefined): boolean {
  if (choice === 'always') return true;
  if (choice === 'never' || (output && output !== '-')) return false;
  const noColor = process.env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  return !!process.stdout.isTTY && process.env['TERM'] !== 'dumb';
}

export const diffCommand = {
  command: 'diff <old> <new>',
  describe: "Say what changes in a node's rules, per service port: in words, then as rule diffs",
  builder: (y: Argv) =>
    withCompileFlags(
      withBehaviourFlags(y)
        .positional('old', { type: 'string', describe: 'Rule file, manifest file or directory; - for stdin' })
        .positional('new', { type: 'string', describe: 'Rule file, manifest file or directory; - for stdin' })
        .option('format', { type: 'string', choices: ['text', 'json', 'markdown'], default: 'text', describe: 'Output format (json: docs/diff-json.md)' })
        .option('stat', { type: 'boolean', describe: 'Only counts per service port and totals (rules, chains, endpoints)' })
        .option('exit-code', { type: 'boolean', describe: 'Exit 1 when there are differences, 0 when none' })
        .option('color', { type: 'string', choices: ['auto', 'always', 'never'], default: 'auto', describe: 'Colour text output (auto: on a terminal, unless NO_COLOR is set)' })
        .option('context', { alias: 'U', type: 'number', default: 3, describe: 'Unchanged rules shown around each change' })
        .option('output', { alias: 'o', type: 'string', describe: 'Write to FILE (atomically) instead of stdout' })
        .option('verbose', { type: 'boolean', describe: 'Say what was skipped while compiling manifests' })
        .epilog(EPILOG),
    ),
  handler: (argv: Args) => {
    if ((argv as { behaviour?: boolean }).behaviour) return behaviourDiff(argv as never);
    checkSideFlags(argv as never);
    // yargs hands a lone `-` to a positional as '' (or true): an empty path means nothing else.
    for (const k of ['old', 'new'] as const) if ((argv[k] as unknown) === '' || (argv[k] as unknown) === true) argv[k] = '-';
    if (argv.old === '-' && argv.new === '-') throw new UsageError('only one side can be read from stdin');
    if (!Number.isInteger(argv.context) || argv.context < 0) throw new UsageError('--context must be a whole number');
    const inputs = [readInput(argv.old), readInput(argv.new)] as const;
    // A node's `nft list ruleset` holds both families' tables: the flag picks one.
    for (const i of inputs) if (i.rules === 'nftables' && argv['ip-family']) i.family = argv['ip-family'] as Family;
    const opts = optionsFor(argv, inputs);
    const ctx = newReadContext();
    const notes: string[] = [];
    // Every side as rule text where the backend has a pair reader (iptables): manifests as
    // `ktables compile` writes them. Two texts diff by what changed between them, so a compile
    // output against the manifests it came from costs no more than two rule files.
    const texts = inputs.map((input) => (input.rules ? { rules: input.rules, text: input.text!, family: input.family! } : compiledText(input, opts, argv, notes)));
    const [o, n] = texts;
    const sides =
      o && n && o.rules === n.rules
        ? rulesSidesPair(o.rules, o.text, n.text, ctx, [o.family, n.family])
        : inputs.map((input, i) => texts[i] ? rulesSide(texts[i]!.rules, texts[i]!.text, ctx, texts[i]!.family) : sideOf(input, opts, notes));
    if (argv.verbose) for (const n of notes) process.stderr.write(`ktables: ${n}\n`);
    const info = inputs.map((input, i): SideInfo => ({
      source: input.arg,
      input: input.rules === 'iptables' ? 'iptables-rules' : input.rules === 'nftables' ? 'nftables-rules' : 'manifests',
      backend: sides[i]!.backend,
      family: sides[i]!.family,
    }));
    const result = compareSides(sides[0]!, sides[1]!, { old: info[0]!, new: info[1]! }, { context: argv.context });
    writeOutput(render(result, argv), argv.output);
    if (argv['exit-code'] && !result.identical) process.exitCode = 1;
  },
};

function render(r: DiffResult, argv: Args): string {
  const stat = !!argv.stat;
  if (argv.format === 'json') return formatJson(r, { stat });
  if (argv.format === 'markdown') return formatMarkdown(r, { stat });
  return formatText(r, { stat, color: wantColor(argv.color, argv.output) });
}

/**
 * The compile options for the manifest sides. A rule file fixes the proxy mode and IP family
 * of the node it came from; unless the flags say otherwise, manifests are compiled to match.
 */
function optionsFor(argv: Args, inputs: readonly Input[]): ProxyOptions {
  const kinds = [...new Set(inputs.map((i) => i.rules).filter((k): k is Backend => k !== undefined))];
  if (kinds.length > 1) throw new UsageError(`${argv.old} holds ${inputs[0]!.rules} rules and ${argv.new} ${inputs[1]!.rules} rules: compare rule sets of one proxy mode`);
  const mode = kinds[0];
  if (mode && argv['proxy-mode'] && argv['proxy-mode'] !== mode) {
    const which = inputs.find((i) => i.rules === mode)!.arg;
    throw new UsageError(`${which} holds ${mode} rules but --proxy-mode is ${argv['proxy-mode']}`);
  }
  const family = inputs.find((i) => i.family)?.family;
  const flags: CompileFlags = { ...argv };
  if (mode && !argv['proxy-mode']) flags['proxy-mode'] = mode;
  if (family && !argv['ip-family']) flags['ip-family'] = family;
  return proxyOptions(flags);
}

function compile(input: Input, opts: ProxyOptions, notes: string[]): ProxyModel {
  // The same stages as `ktables compile`.
  const compiled =
    input.arg === '-'
      ? (() => {
          const inv = loadInventory(['-'], () => input.text ?? '');
          const n: string[] = [...inv.notes];
          return { model: buildModel(inv, opts, n), notes: n };
        })()
      : loadModel([input.arg], opts);
  notes.push(...compiled.notes);
  return compiled.model;
}

/** Manifests compiled for iptables, as the text `ktables compile` prints; undefined for nftables. */
function compiledText(input: Input, opts: ProxyOptions, argv: Args, notes: string[]): { rules: Backend; text: string; family: Family } | undefined {
  if (opts.proxyMode !== 'iptables') return undefined;
  const model = compile(input, opts, notes);
  const rs = compileIptables(model, { previousNatChains: previousNatChains(argv['previous-rules']) });
  return { rules: 'iptables', text: emitIptables(rs), family: model.node.family };
}

function sideOf(input: Input, opts: ProxyOptions, notes: string[]): DiffSide {
  const model = compile(input, opts, notes);
  return compiledNftablesSide(compileNftables(model), model.node.family);
}
