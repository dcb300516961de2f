// The CLI: flags → commands. Commands throw typed errors; this one handler prints them and
// sets the exit code, so no command prints a stack trace at a user.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { InputError, KtablesError, formatProblem } from '../errors.js';
import { compileCommand } from './commands/compile.js';
import { applyCommand } from './commands/apply.js';
import { cleanupCommand } from './commands/cleanup.js';
import { verifyCommand } from './commands/verify.js';
import { traceCommand } from './commands/trace.js';
import { diffCommand } from './commands/diff.js';
import { graphCommand } from './commands/graph.js';

function fail(err: unknown): never {
  if (err instanceof InputError) {
    for (const p of err.problems) process.stderr.write(`ktables: error: ${formatProblem(p)}\n`);
    const n = err.problems.length;
    process.stderr.write(`ktables: ${n} problem${n === 1 ? '' : 's'} in the input; nothing was written\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof KtablesError) {
    for (const line of err.message.split('\n')) process.stderr.write(`ktables: error: ${line}\n`);
    process.exit(err.exitCode);
  }
  const e = err as Error;
  process.stderr.write(`ktables: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env['KTABLES_DEBUG']) process.stderr.write(`${e?.stack ?? ''}\n`);
  process.exit(70);
}

export async function main(argv: string[]): Promise<void> {
  try {
    await yargs(argv)
      .scriptName('ktables')
      .command(compileCommand as never)
      .command(applyCommand as never)
      .command(cleanupCommand as never)
      .command(verifyCommand as never)
      .command(traceCommand as never)
      .command(diffCommand as never)
      .command(graphCommand as never)
      .completion('completion', 'Print a bash/zsh completion script (ktables completion >> ~/.bashrc, or ~/.zshrc)')
      .demandCommand(1, 'Give a command: compile')
      .strict()
      .parserConfiguration({ 'duplicate-arguments-array': true, 'camel-case-expansion': false })
      .fail((msg, err) => {
        if (err) throw err;
        throw Object.assign(new Error(msg), { usage: true });
      })
      .help()
      .version()
      .wrap(Math.min(110, process.stdout.columns ?? 110))
      .parseAsync();
  } catch (err) {
    if ((err as { usage?: boolean }).usage) {
      process.stderr.write(`ktables: ${(err as Error).message}\nRun 'ktables --help' for usage.\n`);
      process.exit(2);
    }
    fail(err);
  }
}

main(hideBin(process.argv));
