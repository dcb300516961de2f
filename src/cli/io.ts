import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { InputError } from '../errors.js';
import { ReadRefused, readFdBounded, readFileBounded } from '../input/bounded.js';

// Input is read with the size limit (src/input/limits.ts), like manifests.
export function readStdin(): string {
  try {
    return readFdBounded(0);
  } catch (e) {
    if (e instanceof ReadRefused) throw new InputError([{ file: '<stdin>', message: e.message }]);
    return '';
  }
}

export function readTextFile(path: string): string {
  if (path === '-') return readStdin();
  try {
    return readFileBounded(path);
  } catch (e) {
    const message = e instanceof ReadRefused ? e.message : `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
    throw new InputError([{ file: path, message }]);
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
