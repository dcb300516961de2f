// Real nodes' rules (fixtures/realworld, copied from ../shared/realworld plus the other forms a
// dump arrives in): every file is read by trace --all, diff and apply, with the answers pinned
// in golden/realworld (npm run golden). And the round trip: reading a rule file and printing it
// gives the same rules, modulo counters and spelling (quotes, blanks), and the kernel's own
// tools take the printed text exactly when they take the original.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cases.js';
import { runCliAsync, type RunResult } from './helpers/cli.js';
import { kernelSupport, warnSkipped } from './helpers/kernel.js';
import { readRules } from '../src/parse/read.js';
import { tokenSpans } from '../src/parse/iptables.js';
import { saveText, scanRules } from '../src/parse/scan.js';
import { emitIptables } from '../src/emit/iptables.js';
import { emitNftables } from '../src/emit/nftables.js';
import { parseNftables } from '../src/parse/nftables.js';
// @ts-expect-error: a plain .mjs script, shared with the golden generator
import { COMMANDS, record, realworldFiles } from '../scripts/golden-realworld.mjs';

const FIXTURES = join(ROOT, 'fixtures', 'realworld');
const files: string[] = realworldFiles();

describe('real nodes: trace --all, diff (golden/realworld)', () => {
  for (const file of files) {
    it(file, async () => {
      const golden = join(ROOT, 'golden', 'realworld', `${file}.txt`);
      expect(existsSync(golden), `missing ${golden}: run npm run golden`).toBe(true);
      const runs: [string[], RunResult][] = [];
      for (const args of COMMANDS(file) as string[][]) runs.push([args, await runCliAsync(args, { cwd: FIXTURES })]);
      expect(runs.map(([args, res]) => record(args, res)).join('\n')).toBe(readFileSync(golden, 'utf8'));
      // Never refused as a whole, never a crash.
      for (const [args, res] of runs) expect(res.status, args.join(' ')).toBe(0);
    });
  }

  it('the bar: trace --all --rules succeeds on every file of ../shared/realworld', async () => {
    const shared = join(ROOT, '..', 'shared', 'realworld');
    if (!existsSync(shared)) return;
    const names = readdirSync(shared).filter((f) => f !== 'README.md');
    const ok: string[] = [];
    for (const f of names) if ((await runCliAsync(['trace', '--all', '--rules', join(shared, f)])).status === 0) ok.push(f);
    expect(ok).toEqual(names);
  });
});

const words = (line: string) => (tokenSpans(line) ?? []).map((s) => s.word);
const ruleLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim().replace(/^\[\d+:\d+\]\s+/, ''))
    .filter((l) => l.startsWith('-A '));

const iptablesTexts = (): [string, string][] => [
  ...files.map((f): [string, string] => [`realworld/${f}`, readFileSync(join(FIXTURES, f), 'utf8')]),
  ...readdirSync(join(ROOT, 'golden', 'iptables')).map((f): [string, string] => [
    `golden/iptables/${f}`,
    readFileSync(join(ROOT, 'golden', 'iptables', f), 'utf8'),
  ]),
];

describe('round trip: read, then print', () => {
  it('iptables: every rule prints back as the same words (counters and quoting aside)', () => {
    let checked = 0;
    for (const [name, text] of iptablesTexts()) {
      const r = readRules(text, name);
      if (r.kind !== 'iptables') continue;
      const printed = emitIptables(r.ruleset);
      const want = ruleLines(r.format === 'iptables-save' ? r.text : saveText(scanRules(text).tables!)).map(words);
      expect(ruleLines(printed).map(words), name).toEqual(want);
      // Printing what was read again changes nothing.
      const again = readRules(printed, name);
      expect(again.kind === 'iptables' && emitIptables(again.ruleset), name).toBe(printed);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('iptables: a compile output prints back byte for byte', () => {
    for (const f of readdirSync(join(ROOT, 'golden', 'iptables'))) {
      const text = readFileSync(join(ROOT, 'golden', 'iptables', f), 'utf8');
      const r = readRules(text, f);
      expect(r.kind === 'iptables' && emitIptables(r.ruleset), f).toBe(text);
    }
  });

  it('the MARK target prints as iptables spells it', () => {
    const text = '*nat\n:KUBE-POSTROUTING - [0:0]\n-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\nCOMMIT\n';
    const r = readRules(text, 't');
    expect(r.kind === 'iptables' && emitIptables(r.ruleset)).toBe(text);
  });

  it('a dump cut short is named at its last line, whether or not a newline ends it', () => {
    for (const text of [
      '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\n',
      '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\n\n',
    ]) {
      expect(scanRules(text).warnings).toEqual(['line 3: the text ends inside table nat (no COMMIT): cut short, read as far as it goes']);
    }
  });

  it('nft: printing what was read is stable, and opaque expressions keep their text', () => {
    const nftFiles = [
      ...files.filter((f) => f.endsWith('.nft')).map((f) => join(FIXTURES, f)),
      ...readdirSync(join(ROOT, 'golden', 'nftables')).map((f) => join(ROOT, 'golden', 'nftables', f)),
    ];
    for (const f of nftFiles) {
      const r = readRules(readFileSync(f, 'utf8'), f);
      if (r.kind !== 'nftables') continue;
      const printed = emitNftables(r.ruleset);
      expect(emitNftables(parseNftables(printed)), f).toBe(printed);
    }
  });
});

describe('nft listings of other tools', () => {
  const text = `table inet filter {
\tset allowed {
\t\ttypeof ip saddr . tcp dport
\t\telements = { 10.0.0.1 . 22 }
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tip saddr . tcp dport @allowed accept
\t\ttcp flags syn / syn,ack log prefix "x " drop
\t}
}
table ip kube-proxy {
\tchain weird {
\t\tmeta l4proto tcp ct mark 0x1 tproxy to :8080
\t}
`;
  it('typeof sets read as the types they stand for; unknown expressions kept as written; cut short closed with a warning', () => {
    const r = readRules(text, 'x.nft');
    expect(r.kind).toBe('nftables');
    if (r.kind !== 'nftables') return;
    const out = emitNftables(r.ruleset);
    expect(out).toContain('add set inet filter allowed { type ipv4_addr . inet_service ; }');
    expect(out).toContain('add rule inet filter input tcp flags syn / syn,ack log prefix "x " drop');
    expect(out).toContain('add rule ip kube-proxy weird meta l4proto tcp ct mark 0x1 tproxy to :8080');
    expect(r.warnings[0]).toBe('line 15: the nft listing ends inside 1 open brace (cut short): read as far as it goes');
  });
});

describe('round trip: the kernel tools take the printed text when they take the original', () => {
  const k = kernelSupport();
  warnSkipped('round-trip kernel checks', k);
  const ns = `ktrw${randomBytes(3).toString('hex')}`;
  beforeAll(() => {
    if (k.ok) execFileSync('ip', ['netns', 'add', ns]);
  });
  afterAll(() => {
    if (k.ok) spawnSync('ip', ['netns', 'del', ns]);
  });
  const accepts = (cmd: string, args: string[], input: string) =>
    spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8' });

  it.skipIf(!k.ok)('iptables-restore --test', () => {
    const refused: string[] = [];
    for (const [name, text] of iptablesTexts()) {
      const r = readRules(text, name);
      if (r.kind !== 'iptables') continue;
      const original = r.format === 'iptables-save' && r.warnings.length === 0 ? r.text : saveText(scanRules(text).tables!);
      const tool = r.ruleset.family === 'ipv6' ? 'ip6tables-restore' : 'iptables-restore';
      const a = accepts(tool, ['--test'], original);
      const b = accepts(tool, ['--test'], emitIptables(r.ruleset));
      expect(b.status === 0, `${name}: ${b.stderr}`).toBe(a.status === 0);
      if (b.status !== 0) refused.push(name);
    }
    // Refused either way: the garbage DNAT target, and ipsets this namespace does not have.
    expect(refused.sort()).toEqual([
      'realworld/dnat-garbage-referenced-b.iptables-save',
      'realworld/dnat-garbage-referenced.iptables-save',
      'realworld/dnat-garbage.iptables-save',
      'realworld/set-in-kube-postrouting.iptables-save',
      'realworld/set-in-weave-chain.iptables-save',
    ]);
  });

  it.skipIf(!k.ok)('nft -c', () => {
    for (const f of readdirSync(join(ROOT, 'golden', 'nftables'))) {
      const text = readFileSync(join(ROOT, 'golden', 'nftables', f), 'utf8');
      const r = readRules(text, f);
      if (r.kind !== 'nftables') continue;
      const b = accepts('nft', ['-c', '-f', '-'], emitNftables(r.ruleset));
      expect(b.status, `${f}: ${b.stderr}`).toBe(0);
    }
    const listing = readRules(readFileSync(join(FIXTURES, 'iptables-nft-listing.nft'), 'utf8'), 'l');
    expect(listing.kind).toBe('nftables');
    const b = accepts('nft', ['-c', '-f', '-'], listing.kind === 'nftables' ? emitNftables(listing.ruleset) : '');
    expect(b.status, b.stderr).toBe(0);
  });
});

describe('apply --rules --dry-run on real nodes', () => {
  const k = kernelSupport();
  // In-process (no Node start per file): the kernel's tools still check every file for real.
  it.skipIf(!k.ok)(
    'reads every file; refuses only what cannot be loaded, naming the line',
    async () => {
      const ns = `ktrw${randomBytes(3).toString('hex')}`;
      execFileSync('ip', ['netns', 'add', ns]);
      try {
        const results: { f: string; r: RunResult }[] = [];
        for (const f of files)
          results.push({ f, r: await runCliAsync(['apply', '--rules', f, '--dry-run', '--netns', ns], { cwd: FIXTURES }) });
        for (const { f, r } of results) {
          expect(r.stderr, f).not.toMatch(/internal error|\n\s+at /);
          if (r.status !== 0) expect(r.stderr, f).toMatch(/line \d+|Error occurred at line|not in the listing/);
        }
        const failed = results.filter((x) => x.r.status !== 0).map((x) => x.f);
        expect(failed).toEqual([
          'dnat-garbage-referenced-b.iptables-save',
          'dnat-garbage-referenced.iptables-save',
          'dnat-garbage.iptables-save',
          'flannel-cut-short.iptables-save',
          'kubeadm-nftables-handles-closed.nft',
          'kubeadm-nftables-truncated.nft',
          'set-in-kube-postrouting.iptables-save',
          'set-in-weave-chain.iptables-save',
        ]);
      } finally {
        spawnSync('ip', ['netns', 'del', ns]);
      }
      // The kernel's tools wait on the xtables lock, which every other kernel test shares.
    },
    180_000,
  );
});
