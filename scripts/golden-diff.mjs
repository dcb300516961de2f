#!/usr/bin/env node
// Regenerates the `ktables diff` golden files ON PURPOSE (npm run golden runs every
// scripts/golden-*.mjs). Tests only compare; they never write.
//   fixtures/diff/<case>/{old,new,args} -> golden/diff/<case>.{txt,json,md,stat.txt}
// A side is the rule file in old/ (or new/) when there is one (*.rules, *.iptables-save,
// *.nft), else the directory of manifests. args holds the compile flags for both sides.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'ktables');
const fixtures = join(root, 'fixtures', 'diff');
const out = join(root, 'golden', 'diff');

export const FORMATS = [
  { ext: 'txt', args: ['--color', 'never'] },
  { ext: 'stat.txt', args: ['--color', 'never', '--stat'] },
  { ext: 'json', args: ['--format', 'json'] },
  { ext: 'md', args: ['--format', 'markdown'] },
];

export function side(dir, name) {
  const files = readdirSync(join(dir, name)).filter((f) => /\.(rules|iptables-save|ip6tables-save|nft)$/.test(f));
  return files.length === 1 ? `${name}/${files[0]}` : name;
}

const words = (file) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean) : []);

mkdirSync(out, { recursive: true });
let written = 0;
for (const name of readdirSync(fixtures).sort()) {
  const dir = join(fixtures, name);
  for (const f of FORMATS) {
    const args = ['diff', side(dir, 'old'), side(dir, 'new'), ...words(join(dir, 'args')), ...f.args];
    const res = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '' } });
    if (res.status !== 0 || res.stderr !== '') {
      console.error(`golden-diff: ${name} (${f.ext}) failed with exit ${res.status}:\n${res.stderr}`);
      process.exit(1);
    }
    writeFileSync(join(out, `${name}.${f.ext}`), res.stdout);
    written++;
  }
}
console.log(`golden-diff: wrote ${written} files`);
