#!/usr/bin/env node
// The apply side of `npm run bench` (or alone after `npm run build`, as root): `ktables apply`
// of the generated cluster into a fresh network namespace, end to end, against the time its
// external commands took (iptables-save, iptables-restore, nft ...: the `N commands took X ms`
// line `--verbose` ends with). ktables' own share is everything else: start-up, reading and
// compiling the manifests, planning, the record. Sizes: BENCH_APPLY_SERVICES (comma-separated,
// default 1000: at 10,000 Services iptables-restore --noflush itself runs for many minutes on
// this machine's iptables-nft); nftables only up to 1000 unless BENCH_APPLY_NFT_10K=1.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterFile } from './bench.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sizes = (process.env.BENCH_APPLY_SERVICES ?? '1000').split(',').map(Number);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 10);
const bin = join(root, 'bin', 'ktables');

const sh = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
const missing = ['ip', 'iptables-restore', 'nft'].filter((t) => sh('sh', ['-c', `command -v ${t}`]).status !== 0);
if (process.getuid?.() !== 0 || missing.length > 0) {
  console.log(`apply: not run (${missing.length > 0 ? `missing ${missing.join(', ')}` : 'needs root'})`);
  process.exit(0);
}

console.log(`apply into a fresh network namespace, ${ENDPOINTS} endpoints per Service (ms, one run each)`);
const fmt = (cells) => cells.map((c, i) => (i < 2 ? String(c).padEnd(12) : String(c).padStart(14))).join(' ');
console.log(fmt(['cluster', 'mode', 'CLI end to end', 'commands', 'ktables share']));
for (const services of sizes) {
  for (const mode of ['iptables', 'nftables']) {
    if (mode === 'nftables' && services > 1000 && process.env.BENCH_APPLY_NFT_10K !== '1') continue;
    const ns = `ktbench${process.pid}`;
    sh('ip', ['netns', 'add', ns]);
    try {
      const args = [bin, 'apply', '--netns', ns, '--verbose', '--proxy-mode', mode, '--hostname-override', 'node-0'];
      const t0 = process.hrtime.bigint();
      const r = sh(process.execPath, [...args, '--cluster-cidr', '10.0.0.0/8', clusterFile(services, ENDPOINTS)]);
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`apply exit ${r.status}: ${r.stderr.split('\n').slice(-3).join('\n')}`);
      const spent = /(\d+) commands? took (\d+) ms/.exec(r.stderr);
      if (!spent) throw new Error('apply --verbose did not say how long its commands took');
      const commands = Number(spent[2]);
      const share = `${(((wall - commands) / wall) * 100).toFixed(0)}%`;
      console.log(fmt([`${services / 1000}k x ${ENDPOINTS}`, mode, wall.toFixed(0), `${commands} (${spent[1]})`, share]));
    } finally {
      // cleanup forgets the record and backup kept for the namespace, then the namespace goes.
      sh(process.execPath, [bin, 'cleanup', '--netns', ns]);
      sh('ip', ['netns', 'del', ns]);
    }
  }
}
