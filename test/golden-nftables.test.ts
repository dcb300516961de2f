// ktables' own nftables fixtures: each pins one kube-proxy behaviour the upstream cases do not
// cover (the first line of each manifests.yaml names it). Regenerate with `npm run golden`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitNftables } from '../src/emit/nftables.js';
import { parseNftables } from '../src/parse/nftables.js';
import { ROOT } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';
import { NFT_GOLDEN_CASES } from './helpers/nftables.js';

const fixtures = join(ROOT, 'fixtures', 'nftables');

describe('nftables golden files', () => {
  it('covers the behaviours the upstream cases miss', async () => {
    for (const must of [
      'session-affinity',
      'lb-source-range-contains-node',
      'ipv6-single-stack',
      'terminating-endpoints',
      'topology-zone-hints',
      'topology-node-hints',
    ]) {
      expect(NFT_GOLDEN_CASES).toContain(must);
    }
  });
  for (const name of NFT_GOLDEN_CASES) {
    it(name, async () => {
      const dir = join(fixtures, name);
      const manifests = readFileSync(join(dir, 'manifests.yaml'), 'utf8');
      expect(manifests.split('\n')[0], 'the first line names the kube-proxy behaviour').toMatch(/^# kube-proxy\b.{20,}/);
      const golden = join(ROOT, 'golden', 'nftables', `${name}.nft`);
      expect(existsSync(golden), `missing ${golden}: run npm run golden`).toBe(true);
      const args = readFileSync(join(dir, 'args'), 'utf8').trim().split(/\s+/);
      const res = await runCliAsync(['compile', ...args, 'manifests.yaml'], { cwd: dir });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      const want = readFileSync(golden, 'utf8');
      expect(res.stdout).toBe(want);
      expect(emitNftables(parseNftables(want)), 'parses back to the same text').toBe(want);
    });
  }
});
