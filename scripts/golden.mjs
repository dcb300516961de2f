#!/usr/bin/env node
// Regenerates golden files ON PURPOSE (npm run golden). Tests only compare; they never write.
//   fixtures/iptables/<case>/{manifests.yaml,args}  -> golden/iptables/<case>.rules
//   fixtures/_error_/<case>/{manifests*,args,paths} -> golden/_error_/<case>.txt (exit code + stderr)
// Then runs every scripts/golden-*.mjs (other commands' goldens).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'ktables');
const words = (file) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean) : []);

function run(dir, args) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20 });
}

let written = 0;
for (const kind of ['iptables']) {
  const fixtures = join(root, 'fixtures', kind);
  const out = join(root, 'golden', kind);
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(fixtures).sort()) {
    const dir = join(fixtures, name);
    const res = run(dir, ['compile', ...words(join(dir, 'args')), 'manifests.yaml']);
    if (res.status !== 0) {
      console.error(`golden: ${kind}/${name} failed:\n${res.stderr}`);
      process.exit(1);
    }
    writeFileSync(join(out, `${name}.rules`), res.stdout);
    written++;
  }
}

const errors = join(root, 'fixtures', '_error_');
mkdirSync(join(root, 'golden', '_error_'), { recursive: true });
for (const name of readdirSync(errors).sort()) {
  const dir = join(errors, name);
  const paths = existsSync(join(dir, 'paths')) ? words(join(dir, 'paths')) : ['manifests.yaml'];
  const res = run(dir, ['compile', '--hostname-override', 'node-a', ...words(join(dir, 'args')), ...paths]);
  if (res.status === 0) {
    console.error(`golden: _error_/${name} unexpectedly compiled`);
    process.exit(1);
  }
  writeFileSync(join(root, 'golden', '_error_', `${name}.txt`), `exit ${res.status}\n${res.stderr}`);
  written++;
}
console.log(`golden: wrote ${written} files`);

for (const f of readdirSync(join(root, 'scripts')).sort()) {
  if (!/^golden-.*\.mjs$/.test(f)) continue;
  const res = spawnSync(process.execPath, [join(root, 'scripts', f)], { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}
