// The emitters' record of where each chain, rule, set and element lands: checked against the
// text they print, on every golden rule set and on a compile of the example cluster.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import { DEFAULT_OPTIONS } from '../src/model/options.js';
import { compileIptables } from '../src/backends/iptables/compile.js';
import { compileNftables } from '../src/backends/nftables/compile.js';
import { EmittedLines } from '../src/emit/lines.js';
import { emitIptables, emitIptablesChunks, formatRule as iptablesRule, layOutIptables } from '../src/emit/iptables.js';
import { emitNftables, formatElement, formatRule as nftRule } from '../src/emit/nftables.js';
import type { IptablesRuleset } from '../src/ir/iptables.js';
import type { NftRuleset } from '../src/ir/nftables.js';
import { parseIptables } from '../src/parse/iptables.js';
import { parseNftables } from '../src/parse/nftables.js';
import { ROOT } from './helpers/cases.js';

const goldens = (dir: string) => readdirSync(join(ROOT, 'golden', dir)).map((f) => readFileSync(join(ROOT, 'golden', dir, f), 'utf8'));

function checkIptables(rs: IptablesRuleset): void {
  const lines = new EmittedLines();
  const text = emitIptables(rs, lines).split('\n');
  for (const t of rs.tables)
    for (const c of t.chains) {
      expect(text[lines.chain(c)! - 1]).toBe(`:${c.name} ${c.policy ?? '-'} [0:0]`);
      c.rules.forEach((r, i) => expect(text[lines.rule(c, i)! - 1]).toBe(iptablesRule(c.name, r)));
      expect(lines.rule(c, c.rules.length)).toBeUndefined();
    }
}

function checkNftables(rs: NftRuleset): void {
  const lines = new EmittedLines();
  const text = emitNftables(rs, lines).split('\n');
  for (const t of rs.tables) {
    const prefix = `${t.family} ${t.name}`;
    for (const c of t.chains) {
      expect(text[lines.chain(c)! - 1]).toMatch(new RegExp(`^add chain ${prefix} ${c.name}( |$)`));
      c.rules.forEach((r, i) => expect(text[lines.rule(c, i)! - 1]).toBe(`add rule ${prefix} ${c.name} ${nftRule(r)}`));
    }
    for (const s of t.sets) {
      expect(text[lines.set(s)! - 1]).toMatch(new RegExp(`^add ${s.kind} ${prefix} ${s.name} \\{`));
      for (const e of s.elements) expect(text[lines.element(e)! - 1]).toBe(`add element ${prefix} ${s.name} ${formatElement(e)}`);
    }
  }
}

function compiled() {
  const text = readFileSync(join(ROOT, 'examples', 'cluster.yaml'), 'utf8');
  const model = buildModel(
    loadInventory(['-'], () => text),
    {
      ...DEFAULT_OPTIONS,
      hostnameOverride: 'worker-1',
      nodeIPs: ['192.168.10.5'],
      clusterCIDRs: ['10.244.0.0/16'],
    },
  );
  return { iptables: compileIptables(model), nftables: compileNftables(model) };
}

describe('where the emitters write each object', () => {
  it('iptables: every declaration and rule of the golden payloads, at the line the parser read it from', () => {
    for (const text of goldens('iptables')) {
      const rs = parseIptables(text);
      checkIptables(rs);
      // The parser's lines and the emitter's agree on the text both describe.
      const lines = layOutIptables(rs);
      for (const t of rs.tables) for (const c of t.chains) c.rules.forEach((r, i) => expect(lines.rule(c, i)).toBe(r.source!.line));
    }
  });

  it('nftables: every chain, set, rule and element of the golden rule sets', () => {
    for (const text of goldens('nftables')) {
      const rs = parseNftables(text);
      checkNftables(rs);
      const lines = new EmittedLines();
      emitNftables(rs, lines);
      for (const t of rs.tables) for (const c of t.chains) c.rules.forEach((r, i) => expect(lines.rule(c, i)).toBe(r.source!.line));
    }
  });

  it('a compile, streamed in pieces: the same lines', () => {
    const { iptables, nftables } = compiled();
    checkIptables(iptables);
    checkNftables(nftables);
    const lines = new EmittedLines();
    const text = [...emitIptablesChunks(iptables, lines)].join('').split('\n');
    const svc = iptables.tables.find((t) => t.name === 'nat')!.chains.find((c) => c.name === 'KUBE-SERVICES')!;
    expect(text[lines.rule(svc, 0)! - 1]).toMatch(/^-A KUBE-SERVICES /);
  });
});
