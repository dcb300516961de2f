// Runs the CLI as a user would, capturing stdout, stderr and exit code: runCliAsync in-process
// through run() with a capturing host (fast: no Node start per call), runCli by spawning
// bin/ktables (for what only a real process shows: the bin wiring, signals, real pipes).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { run } from '../../src/cli/main.js';
import type { Host, HostFs } from '../../src/host.js';
import { ROOT } from './cases.js';

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  input?: string;
  env?: Record<string, string | undefined>;
}

export function runCli(args: string[], opts: RunOptions = {}): RunResult {
  const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'ktables'), ...args], {
    cwd: opts.cwd ?? ROOT,
    input: opts.input ?? '',
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

/** node:fs with relative paths read against CWD, as the spawned CLI would (no process.chdir). */
function fsAt(cwd: string): HostFs {
  const at = (p: unknown) => (typeof p === 'string' && !isAbsolute(p) ? resolve(cwd, p) : p);
  return new Proxy(fs, {
    get(target, name: string) {
      const f = (target as unknown as Record<string, unknown>)[name];
      if (typeof f !== 'function') return f;
      return (...args: unknown[]) => {
        args[0] = at(args[0]);
        if (name === 'renameSync') args[1] = at(args[1]);
        return (f as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as HostFs;
}

/** A host that keeps what the CLI writes and reads stdin from INPUT. */
export function captureHost(opts: RunOptions = {}): Host & { out: string; err: string } {
  const cwd = opts.cwd ?? ROOT;
  const host = {
    out: '',
    err: '',
    stdout: { write: (s: string) => void (host.out += s), isTTY: false },
    stderr: { write: (s: string) => void (host.err += s), isTTY: false },
    readStdin: () => opts.input ?? '',
    fs: fsAt(cwd),
    hostname,
    now: Date.now,
    env: { ...process.env, ...opts.env },
    pid: process.pid,
    cwd,
  };
  return host;
}

/** runCli's result, in-process. */
export async function runCliAsync(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const host = captureHost(opts);
  const status = await run(args, host);
  return { status, stdout: host.out, stderr: host.err };
}
