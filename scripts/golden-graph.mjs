#!/usr/bin/env node
// Golden pictures of the bundled example (run by scripts/golden.mjs; tests only compare):
//   examples/cluster.yaml -> golden/graph/cluster.<mode>.md (Mermaid blocks) and .dot
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'golden', 'graph');
mkdirSync(out, { recursive: true });
let written = 0;
for (const mode of ['iptables', 'nftables']) {
  for (const [format, ext] of [
    ['mermaid', 'md'],
    ['dot', 'dot'],
  ]) {
    const res = spawnSync(
      process.execPath,
      [join(root, 'bin', 'ktables'), 'graph', '--proxy-mode', mode, '--format', format, 'examples/cluster.yaml'],
      { cwd: root, encoding: 'utf8' },
    );
    if (res.status !== 0) {
      console.error(`golden-graph: ${mode} ${format} failed:\n${res.stderr}`);
      process.exit(1);
    }
    writeFileSync(join(out, `cluster.${mode}.${ext}`), res.stdout);
    written++;
  }
}
console.log(`golden-graph: wrote ${written} files`);
