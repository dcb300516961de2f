// Replacing a file so that a reader (or a crash) sees the old content or the new, never half
// of either: write a temp file in the same directory, fsync it, rename it over the target.
import type * as nodeFs from 'node:fs';
import { basename, dirname, join } from 'node:path';

export type AtomicFs = Pick<typeof nodeFs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'rmSync' | 'fchmodSync'>;

/** The content: one string, or pieces written as they come (a large rule set is never joined). */
export type Pieces = string | Iterable<string>;

export interface AtomicOptions {
  /** The new file's mode (default 0600); open() applies the umask unless `exactMode`. */
  mode?: number;
  /** Set `mode` as given, umask or not: an existing file's mode is kept exactly. */
  exactMode?: boolean;
  /** Refuse a temp file that already exists instead of overwriting it (never write through a planted link). */
  exclusive?: boolean;
}

/** Writes TEXT to PATH atomically. Errors are the fs errors (or the pieces' own); no temp file is left. */
export function replaceFileAtomically(fs: AtomicFs, path: string, text: Pieces, pid: number, opts: AtomicOptions = {}): void {
  const mode = opts.mode ?? 0o600;
  const tmp = join(dirname(path), `.${basename(path)}.${pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, opts.exclusive ? 'wx' : 'w', mode);
    if (opts.exactMode) fs.fchmodSync(fd, mode);
    writePieces(fs, fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes every piece to FD, whatever write(2) takes at a time. */
export function writePieces(fs: Pick<AtomicFs, 'writeSync'>, fd: number, text: Pieces): void {
  for (const piece of typeof text === 'string' ? [text] : text) {
    // A string goes to write(2) encoded by node itself, without a Buffer per piece (a large rule
    // set is hundreds of pieces); only a short write sends the rest again from a Buffer.
    const n = fs.writeSync(fd, piece);
    if (n === Buffer.byteLength(piece, 'utf8')) continue;
    const buf = Buffer.from(piece, 'utf8');
    for (let off = n; off < buf.length;) off += fs.writeSync(fd, buf, off, buf.length - off);
  }
}
