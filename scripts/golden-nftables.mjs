#!/usr/bin/env node
// Regenerates the nftables golden files ON PURPOSE (run by `npm run golden`, or alone after
// `npm run build`). Tests only compare; they never write.
//   fixtures/nftables/<case>/{manifests.yaml,args} -> golden/nftables/<case>.nft
// Folders whose name starts with "_" hold other material (e.g. `nft list ruleset` captures).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'ktables');
const fixtures = join(root, 'fixtures', 'nftables');
const out = join(root, 'golden', 'nftables');
mkdirSync(out, { recursive: true });

const cases = readdirSync(fixtures)
  .filter((n) => !n.startsWith('_') && statSync(join(fixtures, n)).isDirectory())
  .sort();
const wanted = new Set(cases.map((n) => `${n}.nft`));
let written = 0;
for (const name of cases) {
  const dir = join(fixtures, name);
  const args = readFileSync(join(dir, 'args'), 'utf8').trim().split(/\s+/).filter(Boolean);
  const res = spawnSync(process.execPath, [cli, 'compile', ...args, 'manifests.yaml'], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (res.status !== 0 || res.stderr !== '') {
    console.error(`golden-nftables: ${name} failed (exit ${res.status}):\n${res.stderr}`);
    process.exit(1);
  }
  writeFileSync(join(out, `${name}.nft`), res.stdout);
  written++;
}
// A golden whose fixture is gone would otherwise linger unnoticed.
for (const f of readdirSync(out)) if (f.endsWith('.nft') && !wanted.has(f)) rmSync(join(out, f));
console.log(`golden-nftables: wrote ${written} files`);
