import type { Host } from '../../host.js';
import { EXIT, UsageError } from '../../errors.js';
import type { DiffResult } from '../../diff/compare.js';
import { formatJson } from '../../diff/format/json.js';
import { formatMarkdown } from '../../diff/format/markdown.js';
import { formatText } from '../../diff/format/text.js';
import type { Family } from '../../util/ip.js';
import { diffInputs } from '../../app/diff-inputs.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { outputFlag, writeOutput } from '../io.js';
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
  const { result, notes } = diffInputs(
    host,
    {
      old: argv.old,
      new: argv.new,
      family: argv['ip-family'] as Family | undefined,
      proxyMode: argv['proxy-mode'],
      context: argv.context,
      previousRules: argv['previous-rules'],
    },
    // A rule file fixes the proxy mode and IP family of its node, unless the flags say otherwise.
    ({ proxyMode, family }) =>
      proxyOptions(
        {
          ...argv,
          ...(proxyMode && !argv['proxy-mode'] && { 'proxy-mode': proxyMode }),
          ...(family && !argv['ip-family'] && { 'ip-family': family }),
        },
        host,
      ),
  );
  if (argv.verbose) for (const n of notes) host.stderr.write(`ktables: ${n}\n`);
  writeOutput(host, render(host, result, argv), output);
  return argv['exit-code'] && !result.identical ? EXIT.differences : EXIT.ok;
}

function render(host: Host, r: DiffResult, argv: DiffArgs): string {
  const stat = !!argv.stat;
  if (argv.format === 'json') return formatJson(r, { stat });
  if (argv.format === 'markdown') return formatMarkdown(r, { stat });
  return formatText(r, { stat, color: wantColor(host, argv.color, argv.output) });
}
