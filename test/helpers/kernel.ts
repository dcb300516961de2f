// Kernel tests need network namespaces (root, CONFIG_NET_NS, iproute2) and the netfilter tools.
// Where they are truly unavailable the tests are skipped, and say so loudly; anywhere else they
// run for real.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KernelSupport {
  ok: boolean;
  reason?: string;
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ok: false, out: (err.stderr ?? err.message).trim() };
  }
}

let cached: KernelSupport | undefined;

/** Can this machine create a network namespace and load rules into it? */
export function kernelSupport(): KernelSupport {
  if (cached) return cached;
  if (process.getuid?.() !== 0) return (cached = { ok: false, reason: 'not running as root' });
  const name = `ktprobe${randomBytes(3).toString('hex')}`;
  const add = run('ip', ['netns', 'add', name]);
  if (!add.ok) return (cached = { ok: false, reason: `ip netns add failed: ${add.out}` });
  try {
    for (const [cmd, args] of [
      ['iptables-restore', ['--version']],
      ['nft', ['--version']],
    ] as const) {
      const r = run('ip', ['netns', 'exec', name, cmd, ...args]);
      if (!r.ok) return (cached = { ok: false, reason: `${cmd} does not run: ${r.out}` });
    }
  } finally {
    run('ip', ['netns', 'del', name]);
  }
  return (cached = { ok: true });
}

/** Says why kernel tests are skipped, where a CI log will show it. */
export function warnSkipped(what: string, k: KernelSupport): void {
  if (k.ok) return;
  console.warn(
    `\n*** SKIPPED ${what}: network namespaces are not available here (${k.reason}). These tests prove the rules with real packets; run them as root on Linux. ***\n`,
  );
}

/** A private state directory (apply's record and backups) for one test file. */
export function testStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ktables-state-'));
  process.env['KTABLES_STATE_DIR'] = dir;
  return dir;
}

export const hasTool = (tool: string) => run('sh', ['-c', `command -v ${tool}`]).ok;

/** Runs a command inside a namespace and returns stdout (throws on failure). */
export function inNetns(ns: string, cmd: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
}

/** iptables-save without comments and with counters zeroed: "the same rules". */
export function saveOf(ns: string, family: 'ipv4' | 'ipv6' = 'ipv4'): string {
  return inNetns(ns, family === 'ipv4' ? 'iptables-save' : 'ip6tables-save', [])
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}

export function newNetns(prefix = 'ktt'): string {
  const name = `${prefix}${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function delNetns(name: string): void {
  run('ip', ['netns', 'del', name]);
}
