// Where people already are: `kubectl ktables ...` (a kubectl plugin on the PATH) and shell
// completion (`ktables completion`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cases.js';
import { runCli } from './helpers/cli.js';

describe('kubectl-ktables', () => {
  it('is a package bin and runs ktables when found on the PATH, as kubectl runs plugins', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['kubectl-ktables']).toBe('bin/kubectl-ktables');
    // kubectl execs the first kubectl-NAME on the PATH with the remaining arguments.
    const dir = mkdtempSync(join(tmpdir(), 'ktables-plugin-'));
    symlinkSync(join(ROOT, 'bin', 'kubectl-ktables'), join(dir, 'kubectl-ktables'));
    const r = spawnSync('kubectl-ktables', ['compile', 'examples/cluster.yaml'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}:${process.env['PATH']}` },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(runCli(['compile', 'examples/cluster.yaml']).stdout);
  });
});

describe('ktables completion', () => {
  it('prints a bash script, and a zsh one under zsh', () => {
    const bash = spawnSync(process.execPath, [join(ROOT, 'bin', 'ktables'), 'completion'], {
      encoding: 'utf8',
      env: { ...process.env, SHELL: '/bin/bash' },
    });
    expect(bash.status).toBe(0);
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _ktables_yargs_completions ktables');
    const zsh = spawnSync(process.execPath, [join(ROOT, 'bin', 'ktables'), 'completion'], {
      encoding: 'utf8',
      env: { ...process.env, SHELL: '/bin/zsh' },
    });
    expect(zsh.stdout).toContain('#compdef ktables');
  });
  it('completes commands and flags, the behaviour side flags too', () => {
    expect(runCli(['--get-yargs-completions', 'ktables', '']).stdout.split('\n')).toEqual(
      expect.arrayContaining(['compile', 'trace', 'diff', 'graph', 'completion']),
    );
    expect(runCli(['--get-yargs-completions', 'ktables', 'diff', '--']).stdout.split('\n')).toEqual(
      expect.arrayContaining(['--behaviour', '--old-proxy-mode', '--new-kube-proxy-version']),
    );
  });
});
