// Writing the CLI's output, through the host (reading its inputs: app/read-file.ts).
import { dirname, resolve } from 'node:path';
import { OutputClosed, OutputError, UsageError } from '../errors.js';
import type { Host } from '../host.js';
import { replaceFileAtomically, writePieces, type Pieces } from '../util/atomic-file.js';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/** Output text: one string, or pieces written as they come (large rule sets). */
export type Text = Pieces;

/** Writes to stdout. EPIPE (the reader left, as `| head` does) stops quietly; other errors are one line. */
export function writeStdout(host: Host, text: Text): void {
  for (const piece of typeof text === 'string' ? [text] : text) {
    try {
      host.stdout.write(piece);
    } catch (e) {
      if (code(e) === 'EPIPE') throw new OutputClosed();
      throw new OutputError(`cannot write to stdout: ${code(e)}`);
    }
  }
}

/** Where a path ends up once its symlinks are followed (the target need not exist yet). */
function followLinks(host: Host, path: string): string {
  let p = resolve(host.cwd, path);
  for (let hops = 0; hops < 40; hops++) {
    let isLink: boolean;
    try {
      isLink = host.fs.lstatSync(p).isSymbolicLink();
    } catch {
      return p; // does not exist: it is created
    }
    if (!isLink) return p;
    p = resolve(dirname(p), host.fs.readlinkSync(p, 'utf8'));
  }
  throw Object.assign(new Error('too many levels of symbolic links'), { code: 'ELOOP' });
}

/**
 * -o FILE. A regular file (or a new one) is replaced atomically: written to a temp file in the
 * same directory, fsynced, renamed over it, so a reader never sees half a rule set; its mode is
 * kept. A symlink is followed and its target replaced. Anything else (a device, a FIFO) is
 * written through, as a shell redirection would.
 */
function writeFile(host: Host, path: string, text: Text): void {
  let target: string;
  let existing: { mode: number; regular: boolean } | undefined;
  try {
    target = followLinks(host, path);
    try {
      const st = host.fs.statSync(target);
      existing = { mode: st.mode & 0o7777, regular: st.isFile() };
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
    }
  } catch (e) {
    throw new OutputError(`cannot write ${path}: ${code(e)}`);
  }
  if (existing && !existing.regular) {
    let fd: number | undefined;
    try {
      fd = host.fs.openSync(target, 'w');
      writePieces(host.fs, fd, text);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === undefined) throw e;
      throw new OutputError(`cannot write ${path}: ${code(e)}`);
    } finally {
      if (fd !== undefined) host.fs.closeSync(fd);
    }
    return;
  }
  try {
    replaceFileAtomically(host.fs, target, text, host.pid, {
      mode: existing?.mode ?? 0o666,
      exactMode: existing !== undefined,
      exclusive: true,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === undefined) throw e; // not an I/O error: a bug
    throw new OutputError(`cannot write ${path}: ${code(e)}`);
  }
}

/** -o's value, checked before any work: `-o` alone is a usage error, not "write to stdout". */
export function outputFlag(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError('-o/--output needs a file name (or - for stdout)');
  return value;
}

/** Output goes to -o FILE or stdout (no -o, or -o -). */
export function writeOutput(host: Host, text: Text, file: string | undefined): void {
  if (file !== undefined && file !== '-') writeFile(host, file, text);
  else writeStdout(host, text);
}
