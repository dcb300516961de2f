// Reading the commands' input files and stdin through the host, size-bounded; a failure is an
// input error naming the file.
import { InputError } from '../errors.js';
import type { Host } from '../host.js';
import { ReadRefused, readFileBounded } from '../input/bounded.js';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/** Why a read failed, for a problem line: the limit's own words, or the errno. */
const readFailure = (e: unknown) => (e instanceof ReadRefused ? e.message : `cannot read: ${code(e)}`);

/** All of stdin. A read error is an error, not an empty input. */
export function readStdin(host: Host): string {
  try {
    return host.readStdin();
  } catch (e) {
    throw new InputError([{ file: '<stdin>', message: readFailure(e) }]);
  }
}

export function readTextFile(host: Host, path: string): string {
  if (path === '-') return readStdin(host);
  try {
    return readFileBounded(host.fs, path);
  } catch (e) {
    throw new InputError([{ file: path, message: readFailure(e) }]);
  }
}
