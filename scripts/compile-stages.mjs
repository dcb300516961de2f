#!/usr/bin/env node
// One compile, stage by stage, for `npm run bench`: node scripts/compile-stages.mjs FILE MODE OUT.
// Prints one JSON line: CPU-free wall milliseconds per stage and the peak RSS. Emit and write
// are interleaved as the CLI streams them; each is timed on its own.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [file, mode, out] = process.argv.slice(2);
const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
const { loadInventory } = await import(dist('input/load.js'));
const { buildModel } = await import(dist('model/build.js'));
const { DEFAULT_OPTIONS } = await import(dist('model/options.js'));
const backend =
  mode === 'nftables'
    ? {
        compile: (await import(dist('backends/nftables/compile.js'))).compileNftables,
        emit: (await import(dist('emit/nftables.js'))).emitNftablesChunks,
      }
    : {
        compile: (await import(dist('backends/iptables/compile.js'))).compileIptables,
        emit: (await import(dist('emit/iptables.js'))).emitIptablesChunks,
      };

const opts = { ...DEFAULT_OPTIONS, proxyMode: mode, hostnameOverride: 'node-0', clusterCIDRs: ['10.0.0.0/8'] };
const now = () => Number(process.hrtime.bigint()) / 1e6;
const ms = {};
let t = now();
const lap = (k) => {
  const n = now();
  ms[k] = (ms[k] ?? 0) + (n - t);
  t = n;
};
const inv = loadInventory([file], () => '');
lap('read');
const model = buildModel(inv, opts, []);
lap('model');
const rs = backend.compile(model);
lap('backend');
const tmp = `${out}.tmp`;
const fd = openSync(tmp, 'w');
let bytes = 0;
let lines = 0;
for (const piece of backend.emit(rs)) {
  lap('emit');
  const buf = Buffer.from(piece, 'utf8');
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
  bytes += buf.length;
  lap('write');
}
fsyncSync(fd);
closeSync(fd);
renameSync(tmp, out);
lap('write');
process.stdout.write(JSON.stringify({ ...ms, bytes, lines, rssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
