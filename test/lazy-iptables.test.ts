// The lazy reading of an iptables-save dump (parse/lazy-iptables.ts) against the full reader:
// wherever it takes a text, the same tables, chains, rules and notes; whatever the full reader
// would warn about, it leaves to the full reader. And the ownership notes read from lazy chains
// are the ones read from parsed chains.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cases.js';
import { readIptablesLazily } from '../src/parse/lazy-iptables.js';
import { readRules } from '../src/parse/read.js';
import { ownershipNotes } from '../src/parse/owners.js';
import type { IptablesRuleset } from '../src/ir/iptables.js';

/** Every rule text under DIR (recursively). */
function ruleFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...ruleFiles(p));
    else if (/\.(iptables-save|ip6tables-save|iptables|rules|iptables-S|fragment|txt)$/.test(name)) out.push(p);
  }
  return out;
}

/** The rule set as plain data (a lazy chain's rules parsed), to compare with the full reading. */
const plain = (rs: IptablesRuleset) => ({
  family: rs.family,
  tables: rs.tables.map((t) => ({
    name: t.name,
    deleted: [...t.deleted],
    chains: t.chains.map((c) => ({ name: c.name, policy: c.policy, rules: c.rules })),
  })),
});

const files = [...ruleFiles(join(ROOT, 'fixtures')), ...ruleFiles(join(ROOT, 'golden', 'iptables'))];

describe('lazy iptables-save reading', () => {
  it('reads what the full reader reads without a warning, the same way', () => {
    let taken = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      let full;
      try {
        full = readRules(text, file);
      } catch {
        expect(readIptablesLazily(text), file).toBeUndefined();
        continue;
      }
      const lazy = readIptablesLazily(text);
      if (!lazy) continue;
      taken++;
      expect(full.kind, file).toBe('iptables');
      if (full.kind !== 'iptables') continue;
      expect(full.warnings, file).toEqual([]);
      expect(lazy.notes, file).toEqual(full.notes);
      expect(ownershipNotes(lazy.ruleset), file).toEqual(ownershipNotes(full.ruleset));
      expect(plain(lazy.ruleset), file).toEqual(plain(full.ruleset));
    }
    expect(taken).toBeGreaterThan(10);
  });

  const save = (lines: string[]) => lines.join('\n') + '\n';
  const good = ['*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', '-A KUBE-SERVICES -j RETURN', 'COMMIT'];

  it('takes a plain dump, with CRLF noted as the full reader notes it', () => {
    expect(readIptablesLazily(save(good))).toBeDefined();
    const crlf = readIptablesLazily(save(good).replace(/\n/g, '\r\n'));
    expect(crlf?.notes).toEqual(readRules(save(good).replace(/\n/g, '\r\n'), 'f').notes);
  });

  it.each([
    ['counters', ['*nat', ':X - [0:0]', '[1:2] -A X -j RETURN', 'COMMIT']],
    ['no COMMIT', ['*nat', ':X - [0:0]', '-A X -j RETURN']],
    ['an undeclared chain', ['*nat', '-A X -j RETURN', 'COMMIT']],
    ['a chain declared twice', ['*nat', ':X - [0:0]', ':X ACCEPT [0:0]', 'COMMIT']],
    ['blanks around a line', ['*nat', ':X - [0:0]', '  -A X -j RETURN', 'COMMIT']],
    ['a line it does not know', ['*nat', ':X - [0:0]', '-N Y', 'COMMIT']],
    ['a cut', ['*nat', ':X - [0:0]', '...', 'COMMIT']],
    ['a table inside a table', ['*nat', ':X - [0:0]', '*filter', 'COMMIT']],
    ['a rule outside a table', ['-A X -j RETURN']],
  ])('leaves %s to the full reader', (_, lines) => {
    expect(readIptablesLazily(save(lines))).toBeUndefined();
  });

  it('parses a chain only when its rules are asked for, once', () => {
    const lazy = readIptablesLazily(save(good))!;
    const chain = lazy.ruleset.tables[0]!.chains[1]!;
    expect(chain.rules).toBe(chain.rules);
    expect(chain.rules[0]!.source).toEqual({ line: 4, text: '-A KUBE-SERVICES -j RETURN' });
  });
});
