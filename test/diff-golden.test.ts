// `ktables diff` golden files: each fixtures/diff/<case> is a pair of sides (manifests or rule
// files) showing one kind of change; its outputs in every format are pinned in golden/diff.
// Regenerate on purpose with `node scripts/golden-diff.mjs` (npm run golden); tests never write.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliAsync } from './helpers/cli.js';
import { DIFF_FIXTURES, DIFF_GOLDEN, FORMATS, caseArgs, side } from './diff-helpers.js';

const cases = readdirSync(DIFF_FIXTURES).sort();

describe('diff golden files', () => {
  it('covers every kind of change the issue lists', async () => {
    for (const c of [
      'service-added',
      'service-removed',
      'endpoints',
      'nodeport',
      'loadbalancer-ip',
      'source-ranges',
      'session-affinity',
      'traffic-policy',
      'now-rejects',
      'now-drops',
      'node-wide',
      'node-dump',
      'normalized-same',
      'rule-order',
      'nft-endpoints',
      'nft-node-dump',
      'nft-list-same',
      'nft-now-rejects',
      'nft-now-drops',
      'release-same',
      'release-endpoints',
      'nft-release-same',
      'nft-release-endpoints',
    ]) {
      expect(cases).toContain(c);
    }
  });
  for (const name of cases) {
    const dir = join(DIFF_FIXTURES, name);
    const args = ['diff', side(dir, 'old'), side(dir, 'new'), ...caseArgs(dir)];
    for (const f of FORMATS) {
      it(`${name} (${f.ext})`, async () => {
        const golden = join(DIFF_GOLDEN, `${name}.${f.ext}`);
        expect(existsSync(golden), `missing ${golden}: run node scripts/golden-diff.mjs`).toBe(true);
        const res = await runCliAsync([...args, ...f.args], { cwd: dir });
        expect(res.stderr).toBe('');
        expect(res.status).toBe(0);
        expect(res.stdout).toBe(readFileSync(golden, 'utf8'));
      });
    }
    it(`${name}: --exit-code`, async () => {
      const identical = JSON.parse(readFileSync(join(DIFF_GOLDEN, `${name}.json`), 'utf8')).identical as boolean;
      expect(identical).toBe(name.endsWith('-same'));
      const res = await runCliAsync([...args, '--exit-code', '--stat'], { cwd: dir });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(identical ? 0 : 1);
    });
  }
});
