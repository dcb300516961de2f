// Where output goes: -o replaces regular files atomically and writes through to anything else;
// write errors are one line and exit 2; a closed pipe stops quietly. The last tests spawn the
// real binary: only a real process has a real stdout pipe.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { captureHost, runCli, runCliAsync } from './helpers/cli.js';
import { ROOT } from './helpers/cases.js';

const example = join(ROOT, 'examples', 'cluster.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'ktables-out-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('-o FILE', () => {
  it('keeps the mode of the file it replaces', async () => {
    const out = join(tmp, 'mode.rules');
    writeFileSync(out, 'old\n');
    chmodSync(out, 0o600);
    const r = await runCliAsync(['compile', example, '-o', out]);
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toMatch(/^\*filter\n/);
  });

  it('follows a symlink and replaces its target, keeping the link', async () => {
    const target = join(tmp, 'target.rules');
    const link = join(tmp, 'link.rules');
    writeFileSync(target, 'old\n');
    symlinkSync('target.rules', link);
    expect((await runCliAsync(['compile', example, '-o', link])).status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('target.rules');
    expect(readFileSync(target, 'utf8')).toMatch(/^\*filter\n/);
  });

  it('writes through to a device: -o /dev/full is a one-line error, and the device stays a device', async () => {
    const r = await runCliAsync(['compile', example, '-o', '/dev/full']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('ktables: error: cannot write /dev/full: ENOSPC\n');
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('writes through to a FIFO', async () => {
    const fifo = join(tmp, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    let got = '';
    reader.stdout.on('data', (d: Buffer) => (got += d.toString()));
    const done = new Promise((resolve) => reader.on('close', resolve));
    const r = await runCliAsync(['compile', example, '-o', fifo]);
    await done;
    expect(r.status).toBe(0);
    expect(got).toBe((await runCliAsync(['compile', example])).stdout);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('-o without a file name is a usage error, and nothing is written', async () => {
    for (const args of [
      ['compile', example, '-o'],
      ['diff', example, example, '-o'],
    ]) {
      const r = await runCliAsync(args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('-o/--output needs a file name');
    }
  });

  it('a directory that cannot be written to is a one-line error', async () => {
    const r = await runCliAsync(['compile', example, '-o', join(tmp, 'no', 'such', 'dir', 'x.rules')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ktables: error: cannot write .*x\.rules: ENOENT\n$/);
  });
});

describe('stdin and stdout errors', () => {
  it('a failed read of stdin is an error, not an empty cluster', async () => {
    const host = captureHost();
    const failing = {
      ...host,
      readStdin: () => {
        throw Object.assign(new Error('read failed'), { code: 'EIO' });
      },
    };
    const status = await run(['compile', '-'], failing);
    expect(status).toBe(2);
    expect(host.err).toContain('<stdin>: cannot read: EIO');
    expect(host.out).toBe('');
  });

  it('a write error on stdout is one line and exit 2 (spawned: > /dev/full)', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" bin/ktables compile "${example}" > /dev/full`], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('ktables: error: cannot write to stdout: ENOSPC\n');
  });

  it('stops quietly when the reader of stdout goes away (spawned: | head -c 10)', () => {
    const big = join(tmp, 'big.yaml');
    // Big enough that the output outlasts the pipe buffer.
    const svc = (i: number) =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}, namespace: d}\nspec: {clusterIP: 10.96.${i >> 8}.${i & 255}, ports: [{port: 80}]}\n`;
    writeFileSync(big, Array.from({ length: 3000 }, (_, i) => svc(i)).join('---\n'));
    const r = spawnSync(
      'bash',
      ['-c', `"${process.execPath}" bin/ktables compile "${big}" | head -c 10; echo " status=\${PIPESTATUS[0]}"`],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.stdout).toBe('*filter\n:K status=0\n');
    expect(r.stderr).toBe('');
  });
});

describe('bin/ktables', () => {
  it('prints the version of package.json and exits 0', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = runCli(['--version']);
    expect(r).toEqual({ status: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('sets the exit status from run() (usage error: 2)', () => {
    const r = runCli(['compile', '--no-such-flag']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Unknown argument');
  });
});
