// The CLI: flags → commands. run() takes the arguments and a Host and returns the exit status;
// it never exits the process, so tests run it in-process. Commands throw typed errors; the one
// handler here prints them, so no command prints a stack trace at a user.
import { EXIT, InputError, KtablesError, OutputClosed, formatProblem } from '../errors.js';
import type { Host } from '../host.js';
import { VERSION } from '../version.js';
import { readBooleanFlags } from './flag-values.js';
import { BOOLEAN_FLAGS } from './flag-defs.js';
import { plainCompileArgs } from './compile-argv.js';

function report(host: Host, err: unknown): number {
  const say = (line: string) => {
    try {
      host.stderr.write(line);
    } catch {
      // stderr is gone too: the exit status is all that is left to say it.
    }
  };
  if (err instanceof OutputClosed) return err.exitCode;
  if (err instanceof InputError) {
    for (const p of err.problems) say(`ktables: error: ${formatProblem(p)}\n`);
    const n = err.problems.length;
    say(`ktables: ${n} problem${n === 1 ? '' : 's'} in the input; nothing was written\n`);
    return err.exitCode;
  }
  if (err instanceof KtablesError) {
    for (const line of err.message.split('\n')) say(`ktables: error: ${line}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  say(`ktables: internal error: ${e?.message ?? String(err)}\n`);
  if (host.env['KTABLES_DEBUG']) say(`${e?.stack ?? ''}\n`);
  return EXIT.internal;
}

/** Runs one ktables command line (without `node ktables`) and returns its exit status. */
export async function run(argv: string[], host: Host): Promise<number> {
  // The most common call that needs no parser at all.
  if (argv.length === 1 && argv[0] === '--version') {
    host.stdout.write(`${VERSION}\n`);
    return 0;
  }
  let status = 0;
  try {
    // A plain compile command line skips yargs (most of the start-up time of a small compile).
    const plain = argv[0] === 'compile' ? plainCompileArgs(readBooleanFlags(argv.slice(1), BOOLEAN_FLAGS)) : undefined;
    if (plain) {
      const { run: compile } = await import('./commands/compile.js');
      compile(plain, host);
      return 0;
    }
    const [{ default: yargs }, { commands }] = await Promise.all([import('yargs'), import('./commands/index.js')]);
    let output = '';
    const y = yargs()
      .scriptName('ktables')
      .command(commands(host, (s) => (status = s)))
      .completion('completion', 'Print a bash/zsh completion script (ktables completion >> ~/.bashrc, or ~/.zshrc)')
      .demandCommand(1, 'Give a command: compile')
      .strict()
      .parserConfiguration({ 'duplicate-arguments-array': true, 'camel-case-expansion': false })
      .fail((msg, err) => {
        if (err) throw err;
        throw Object.assign(new Error(msg), { usage: true });
      })
      .help()
      .version(VERSION)
      .exitProcess(false)
      .wrap(Math.min(110, host.stdout.columns ?? 110));
    // The parse callback makes yargs hand back --help / --version text instead of printing it.
    await y.parseAsync(readBooleanFlags(argv, BOOLEAN_FLAGS), {}, (_err, _argv, text) => {
      output = text;
    });
    if (output) host.stdout.write(`${output}\n`);
  } catch (err) {
    if ((err as { usage?: boolean }).usage) {
      host.stderr.write(`ktables: ${(err as Error).message}\nRun 'ktables --help' for usage.\n`);
      return EXIT.input;
    }
    return report(host, err);
  }
  return status;
}
