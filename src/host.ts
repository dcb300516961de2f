// Everything ktables does to the world outside its own memory goes through one Host: output and
// error streams, files, stdin, the machine's name, the clock and the environment. The CLI takes a
// Host from its caller, so tests run it in-process with a capturing one and bin/ktables passes
// nodeHost(). Kept free of heavy imports: it is loaded on every start.
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { isatty } from 'node:tty';
import { readFdBounded } from './input/bounded.js';

/** A byte sink such as stdout. write() is synchronous and throws a Node errno error on failure. */
interface Sink {
  write(chunk: string): void;
  readonly isTTY: boolean;
  readonly columns?: number;
}

/** The synchronous file-system calls ktables makes (node:fs's own signatures). */
export type HostFs = Pick<
  typeof fs,
  | 'readFileSync'
  | 'readdirSync'
  | 'statSync'
  | 'lstatSync'
  | 'realpathSync'
  | 'openSync'
  | 'writeSync'
  | 'fsyncSync'
  | 'closeSync'
  | 'renameSync'
  | 'rmSync'
  | 'fchmodSync'
  | 'existsSync'
  | 'mkdirSync'
  | 'readlinkSync'
  | 'fstatSync'
  | 'readSync'
>;

export interface Host {
  readonly stdout: Sink;
  readonly stderr: Sink;
  /** All of stdin as text, within the input size limit; errors are thrown, never read as ''. */
  readStdin(): string;
  readonly fs: HostFs;
  hostname(): string;
  now(): number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Process id, for temp-file names. */
  readonly pid: number;
  /** The directory relative paths are read against (host.fs resolves them itself). */
  readonly cwd: string;
}

/** Writes all of TEXT to FD, waiting out EAGAIN (a non-blocking pipe that is full). */
function writeAllSync(fd: number, text: string): void {
  let buf = Buffer.from(text, 'utf8');
  while (buf.length > 0) {
    let n: number;
    try {
      n = fs.writeSync(fd, buf);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      pause();
      continue;
    }
    buf = buf.subarray(n);
  }
}

const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);

function fdSink(fd: number, stream: () => NodeJS.WriteStream): Sink {
  return {
    write: (chunk) => writeAllSync(fd, chunk),
    // Asked lazily, and process.stdout only for a terminal: creating that stream costs start-up
    // time and can make a pipe non-blocking.
    get isTTY() {
      return isatty(fd);
    },
    get columns() {
      return isatty(fd) ? stream().columns : undefined;
    },
  };
}

/** The real host: this process's fds, the real file system and clock. */
export function nodeHost(): Host {
  return {
    stdout: fdSink(1, () => process.stdout),
    stderr: fdSink(2, () => process.stderr),
    readStdin: () => readFdBounded(fs, 0),
    fs,
    hostname,
    now: Date.now,
    env: process.env,
    pid: process.pid,
    get cwd() {
      return process.cwd();
    },
  };
}
