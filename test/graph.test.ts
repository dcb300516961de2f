// `ktables graph` and the other pictures (trace --format, diff --behaviour --format markdown):
// goldens for the bundled example, and every picture of every fixture cluster checked by the
// real parsers (Graphviz for DOT, Mermaid's parser for Mermaid).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { proxyOptions } from '../src/cli/flags.js';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import { tracerForModel } from '../src/behaviour/tracers.js';
import { modelPictures } from '../src/graph/pictures.js';
import { toDot, toMermaid } from '../src/graph/render.js';
import { allClusters, parseFlags } from './behaviour-support.js';
import { ROOT } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';
import { haveDot, mermaidBlocks, parseMermaid, renderDot } from './helpers/pictures.js';

const EX = 'examples/cluster.yaml';
const golden = (f: string) => readFileSync(join(ROOT, 'golden', 'graph', f), 'utf8');

describe('ktables graph on the bundled example', () => {
  for (const mode of ['iptables', 'nftables']) {
    it(`${mode}: matches the goldens, renders with Graphviz and parses with Mermaid`, async () => {
      const md = await runCliAsync(['graph', '--proxy-mode', mode, EX]);
      expect(md.stderr).toBe('');
      expect(md.stdout).toBe(golden(`cluster.${mode}.md`));
      const dot = await runCliAsync(['graph', '--proxy-mode', mode, '--format', 'dot', EX]);
      expect(dot.stdout).toBe(golden(`cluster.${mode}.dot`));
      const blocks = mermaidBlocks(md.stdout);
      expect(blocks).toHaveLength(5); // five service ports
      for (const b of blocks) expect(await parseMermaid(b)).toBe('flowchart-v2');
      if (haveDot) {
        const r = renderDot(dot.stdout);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.svg.match(/<svg /g)).toHaveLength(5);
      }
    });
  }

  it('says what decides in words: source ranges, cluster CIDR, local-only branch, masquerade mark, shares, DROP', async () => {
    const r = await runCliAsync(['graph', EX, '--service', 'shop/storefront', '--cluster-cidr', '10.244.0.0/16']);
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out.startsWith('flowchart LR\n')).toBe(true); // one picture: bare Mermaid
    expect(out).toContain('|"source in 203.0.113.0/24"|');
    expect(out).toContain('from outside the cluster CIDR"| n');
    expect(out).toContain('KUBE-SVL-Q3GZAQWEYVX6RMSR: local endpoints only');
    expect(out).toMatch(/-\.->\|"[^"]*"\| n\d+\n/); // the dashed edge to the mark
    expect(out).toContain('{{"mark for masquerade"}}');
    expect(out).toContain('|"50%"|');
    expect(out).toContain('(("DROP"))');
    expect(out).toContain('[("10.244.1.30:8443")]');
    expect(out).toContain('|"pod, node, external inside source ranges, external outside source ranges"|');
  });

  it('--rules draws a rule file with the entry points of the manifests: the same picture as compiling them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktables-graph-'));
    for (const mode of ['iptables', 'nftables']) {
      const file = join(dir, `ex.${mode}`);
      writeFileSync(file, (await runCliAsync(['compile', '--proxy-mode', mode, EX])).stdout);
      const fromRules = await runCliAsync(['graph', '--rules', file, EX]);
      expect(fromRules.stderr).toBe('');
      expect(fromRules.stdout).toBe(golden(`cluster.${mode}.md`));
    }
  });

  it('trouble: exit 2 and one message', async () => {
    for (const [args, msg] of [
      [['graph', EX, '--service', 'shop/nope'], 'no service port matches --service shop/nope'],
      [['graph', '--rules', 'golden/graph/cluster.iptables.dot'], 'the Services and their entry points come from manifests'],
      [['trace', '--all', EX, '--format', 'dot'], 'for every Service use ktables graph'],
    ] as const) {
      const r = await runCliAsync([...args]);
      expect(r.status, msg).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(msg);
    }
  });
});

describe('the README', () => {
  it('shows `ktables graph examples/cluster.yaml --service shop/storefront` as it is, and Mermaid parses it', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = mermaidBlocks(readme)[0]!;
    expect(block).toBe((await runCliAsync(['graph', EX, '--service', 'shop/storefront'])).stdout);
    expect(await parseMermaid(block)).toBe('flowchart-v2');
  });
});

describe('trace --format mermaid|dot: one packet', () => {
  it('draws the path through every chain, parsed by both tools', async () => {
    for (const mode of ['iptables', 'nftables']) {
      const pkt = ['--proxy-mode', mode, EX, '--src', '203.0.113.2', '--dst', '172.18.0.3', '--dport', '30443'];
      const m = await runCliAsync(['trace', ...pkt, '--format', 'mermaid']);
      expect(m.status).toBe(0);
      expect(await parseMermaid(m.stdout)).toBe('flowchart-v2');
      expect(m.stdout).toContain('[("10.244.1.30:8443")]');
      expect(m.stdout).toContain(mode === 'iptables' ? 'KUBE-NODEPORTS' : 'NodePort 30443');
      const d = await runCliAsync(['trace', ...pkt, '--format', 'dot']);
      if (haveDot) expect(renderDot(d.stdout)).toMatchObject({ status: 0, stderr: '' });
    }
  });
});

describe('diff --behaviour --format markdown', () => {
  it('shows before/after pictures of each changed Service (few of them), all valid Mermaid', async () => {
    const r = await runCliAsync([
      'diff',
      '--behaviour',
      EX,
      EX,
      '--old-proxy-mode',
      'iptables',
      '--new-proxy-mode',
      'nftables',
      '--format',
      'markdown',
    ]);
    const blocks = mermaidBlocks(r.stdout);
    expect(blocks).toHaveLength(4); // two changed service ports, before and after
    for (const b of blocks) expect(await parseMermaid(b)).toBe('flowchart-v2');
  });
});

describe('every picture of every fixture cluster parses', () => {
  const clusters = allClusters();
  it.each(['iptables', 'nftables'] as const)(
    '%s',
    async (mode) => {
      let pictures = 0;
      for (const c of clusters) {
        const opts = proxyOptions({ ...parseFlags(c.args), 'proxy-mode': mode });
        const inv = loadInventory(['-'], () => readFileSync(join(c.dir, 'manifests.yaml'), 'utf8'));
        let model: ReturnType<typeof buildModel>;
        try {
          model = buildModel(inv, opts, []);
        } catch (e) {
          // iptables fixtures pinned to a release before nftables mode is modelled (1.35).
          if (mode === 'nftables' && c.name.startsWith('iptables/') && /is not a release ktables models/.test(String(e))) continue;
          throw e;
        }
        const pics = modelPictures([model], tracerForModel(model, mode));
        if (pics.length === 0) continue;
        for (const p of pics) {
          try {
            await parseMermaid(toMermaid(p));
          } catch (e) {
            throw new Error(`${c.name} ${p.title}: ${(e as Error).message}`, { cause: e });
          }
        }
        if (haveDot) expect(renderDot(pics.map(toDot).join('\n')), c.name).toMatchObject({ status: 0, stderr: '' });
        pictures += pics.length;
      }
      expect(pictures).toBeGreaterThan(150);
    },
    300_000,
  );
});
