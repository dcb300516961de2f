// The common `compile` command lines read without yargs: loading and setting up yargs costs more
// than compiling a small cluster. Only plain forms are read here: each flag at most once, a known
// compile flag with a value that cannot be taken for a flag, and file names. Anything else
// (--help, an unknown or repeated flag, a value outside a flag's choices, `-` or `--`) returns undefined
// and goes through yargs, which gives the usage messages.
import type { CompileArgs } from './commands/compile.js';
import { COMPILE_FLAGS } from './flag-defs.js';

/** The compile command's flags that take a value, with their choices where yargs checks them. */
const VALUE_FLAGS: ReadonlyMap<string, readonly string[] | undefined> = new Map([
  ['output', undefined],
  ...Object.entries(COMPILE_FLAGS)
    .filter(([, def]) => def.type === 'string')
    .map(([name, def]) => [name, def.choices] as const),
]);

/** Its boolean flags (`--flag`, `--no-flag`; `--flag=VALUE` is rewritten before this is called). */
const SWITCHES = new Set([
  ...Object.entries(COMPILE_FLAGS)
    .filter(([, def]) => def.type === 'boolean')
    .map(([name]) => name),
  'verbose',
]);

/** ARGV (after the command word) as yargs would hand it to the compile command, or undefined. */
export function plainCompileArgs(argv: readonly string[]): CompileArgs | undefined {
  const out: Record<string, unknown> = {};
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      paths.push(arg);
      continue;
    }
    let name: string;
    let value: string | boolean | undefined;
    const eq = arg.indexOf('=');
    if (arg === '-o') name = 'output';
    else if (!arg.startsWith('--')) return undefined;
    else name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (VALUE_FLAGS.has(name)) {
      if (eq >= 0 && arg !== '-o') value = arg.slice(eq + 1);
      else {
        const next = argv[++i];
        if (next === undefined || next.startsWith('-')) return undefined;
        value = next;
      }
      if (value === '') return undefined;
      const choices = VALUE_FLAGS.get(name);
      if (choices && !choices.includes(value)) return undefined;
    } else if (eq < 0 && SWITCHES.has(name)) {
      // yargs takes a following `true` / `false` as the switch's value.
      if (argv[i + 1] === 'true' || argv[i + 1] === 'false') return undefined;
      value = true;
    } else if (eq < 0 && name.startsWith('no-') && SWITCHES.has(name.slice(3))) {
      name = name.slice(3);
      value = false;
    } else return undefined;
    if (Object.hasOwn(out, name)) return undefined;
    out[name] = value;
  }
  if (paths.length > 0) out['paths'] = paths;
  return out as CompileArgs;
}
