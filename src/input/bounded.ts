// Reading input with a size limit: in chunks, counting, so /dev/zero or an endless pipe stops
// at LIMITS.inputBytes instead of filling memory.
import { isAscii } from 'node:buffer';
import type * as nodeFs from 'node:fs';
import { LIMITS, formatBytes } from './limits.js';

/** Input refused while reading it (too large, binary): reported as a problem with the file. */
export class ReadRefused extends Error {}

/** A NUL byte: no YAML, JSON or rule file holds one, so the input is binary (/dev/zero, an image). */
class BinaryInput extends ReadRefused {
  constructor(readonly offset: number) {
    super(`input holds a NUL byte at offset ${offset}: binary data, not YAML, JSON or rule text`);
  }
}

class InputTooLarge extends ReadRefused {
  constructor(readonly limit: number) {
    super(`input is larger than the ${formatBytes(limit)} limit (see "Limits" in the README)`);
  }
}

/** The file-system calls a bounded read makes (the Host's fs, or node:fs itself). */
export type BoundedFs = Pick<typeof nodeFs, 'openSync' | 'closeSync' | 'fstatSync' | 'readSync'>;

const CHUNK = 1 << 20;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// ASCII text (what kubectl writes) decodes the same as UTF-8 and many times faster: Node
// copies the bytes as they are instead of validating them as UTF-8.
function decode(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('ascii') : bytes.toString('utf8');
}

/** Everything FD holds, up to LIMIT bytes; throws InputTooLarge beyond. */
export function readFdBounded(fs: BoundedFs, fd: number, limit: number = LIMITS.inputBytes): string {
  let fileSize = 0;
  try {
    const st = fs.fstatSync(fd);
    if (st.isFile() && st.size > limit) throw new InputTooLarge(limit);
    if (st.isFile()) fileSize = st.size;
  } catch (e) {
    if (e instanceof ReadRefused) throw e;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  // A regular file is read straight into one buffer of its size (one byte more, to notice a
  // file that grows meanwhile): no chunk copies, no concatenation of a large input.
  if (fileSize > 0) {
    const whole = Buffer.allocUnsafe(fileSize + 1);
    for (let n = -1; n !== 0 && total < whole.length; total += n) n = fs.readSync(fd, whole, total, whole.length - total, null);
    const nul = whole.subarray(0, total).indexOf(0);
    if (nul >= 0) throw new BinaryInput(nul);
    if (total <= fileSize) return decode(whole.subarray(0, total));
    if (total > limit) throw new InputTooLarge(limit);
    chunks.push(whole.subarray(0, total));
  }
  const buf = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, CHUNK, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A non-blocking stdin (some terminals and pipes) has no data yet: wait, do not stop.
      if (code === 'EAGAIN') {
        sleep(5);
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    const nul = buf.subarray(0, n).indexOf(0);
    if (nul >= 0) throw new BinaryInput(total + nul);
    total += n;
    if (total > limit) throw new InputTooLarge(limit);
    chunks.push(Buffer.from(buf.subarray(0, n))); // a copy: pipes deliver small reads
  }
  return decode(Buffer.concat(chunks, total));
}

/** A file's text, up to the limit. Errors are the fs errors (ENOENT, EISDIR, ...) or InputTooLarge. */
export function readFileBounded(fs: BoundedFs, path: string, limit: number = LIMITS.inputBytes): string {
  const fd = fs.openSync(path, 'r');
  try {
    return readFdBounded(fs, fd, limit);
  } finally {
    fs.closeSync(fd);
  }
}
