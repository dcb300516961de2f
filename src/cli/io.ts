import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { InputError } from '../errors.js';

export function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

export function readTextFile(path: string): string {
  if (path === '-') return readStdin();
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError([{ file: path, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
}

/** Writes FILE atomically (temp file + rename): a reader never sees half a rule set. */
export function writeAtomically(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new InputError([{ file: path, message: `cannot write: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
}

/** Output goes to -o FILE (atomically) or stdout. */
export function writeOutput(text: string, file: string | undefined): void {
  if (file && file !== '-') writeAtomically(file, text);
  else process.stdout.write(text);
}
