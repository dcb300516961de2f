// ktables' own iptables fixtures: each pins one kube-proxy behaviour the upstream cases do not
// cover (the first line of each manifests.yaml names it). Regenerate with `npm run golden`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';

const words = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean) : []);

describe('iptables golden files', () => {
  const fixtures = join(ROOT, 'fixtures', 'iptables');
  for (const name of readdirSync(fixtures).sort()) {
    it(name, async () => {
      const dir = join(fixtures, name);
      const golden = join(ROOT, 'golden', 'iptables', `${name}.rules`);
      expect(existsSync(golden), `missing ${golden}: run npm run golden`).toBe(true);
      const res = await runCliAsync(['compile', ...words(join(dir, 'args')), 'manifests.yaml'], { cwd: dir });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout).toBe(readFileSync(golden, 'utf8'));
    });
  }
});

describe('inputs that must fail (fixtures/_error_)', () => {
  const fixtures = join(ROOT, 'fixtures', '_error_');
  for (const name of readdirSync(fixtures).sort()) {
    it(name, async () => {
      const dir = join(fixtures, name);
      const paths = existsSync(join(dir, 'paths')) ? words(join(dir, 'paths')) : ['manifests.yaml'];
      const res = await runCliAsync(['compile', '--hostname-override', 'node-a', ...words(join(dir, 'args')), ...paths], { cwd: dir });
      expect(res.status).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr).not.toMatch(/\n\s+at /); // never a stack trace
      expect(`exit ${res.status}\n${res.stderr}`).toBe(readFileSync(join(ROOT, 'golden', '_error_', `${name}.txt`), 'utf8'));
    });
  }
});
