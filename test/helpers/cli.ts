// Runs the built CLI (bin/ktables) as a user would, capturing stdout, stderr and exit code.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './cases.js';

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; input?: string } = {}): RunResult {
  const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'ktables'), ...args], {
    cwd: opts.cwd ?? ROOT,
    input: opts.input ?? '',
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}
