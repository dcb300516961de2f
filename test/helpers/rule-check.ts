// The real tools as judges: does iptables-restore / nft accept a rule set? Both check in a
// private network namespace (--test / -c), so nothing is programmed anywhere.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { kernelSupport } from './kernel.js';

export interface RuleChecker {
  iptables(text: string, family?: 'ipv4' | 'ipv6'): { ok: boolean; stderr: string };
  nft(text: string): { ok: boolean; stderr: string };
  close(): void;
}

const PREFIX = 'ktchk';

/**
 * Deletes the namespaces of checkers whose process is gone: a test run that is killed never
 * reaches close(). The owner's pid is part of the name (ktchk<pid>-<random>).
 */
function sweepOrphans(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const m of (list.stdout ?? '').matchAll(new RegExp(`^(${PREFIX}(\\d+)-[0-9a-f]+)`, 'gm'))) {
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) spawnSync('ip', ['netns', 'del', m[1]!]);
  }
}

/** A checker, or undefined (with the reason) where namespaces are unavailable. */
export function ruleChecker(): RuleChecker | string {
  const k = kernelSupport();
  if (!k.ok) return k.reason ?? 'no kernel support';
  sweepOrphans();
  const ns = `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (add.status !== 0) return `ip netns add: ${add.stderr}`;
  const run = (cmd: string, args: string[], input: string) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8', maxBuffer: 256 << 20 });
    return { ok: r.status === 0, stderr: r.stderr ?? '' };
  };
  return {
    iptables: (text, family = 'ipv4') => run(family === 'ipv4' ? 'iptables-restore' : 'ip6tables-restore', ['--test'], text),
    nft: (text) => run('nft', ['-c', '-f', '-'], text),
    close: () => void spawnSync('ip', ['netns', 'del', ns]),
  };
}
