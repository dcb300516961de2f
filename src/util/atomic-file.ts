// Replacing a file so that a reader (or a crash) sees the old content or the new, never half
// of either: write a temp file in the same directory, fsync it, rename it over the target.
import type * as nodeFs from 'node:fs';
import { basename, dirname, join } from 'node:path';

export type AtomicFs = Pick<typeof nodeFs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'rmSync'>;

/** Writes TEXT to PATH atomically (mode MODE for a new file). Errors are the fs errors; no temp file is left. */
export function replaceFileAtomically(fs: AtomicFs, path: string, text: string, pid: number, mode = 0o600): void {
  const tmp = join(dirname(path), `.${basename(path)}.${pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w', mode);
    const buf = Buffer.from(text, 'utf8');
    for (let off = 0; off < buf.length;) off += fs.writeSync(fd, buf, off, buf.length - off);
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
