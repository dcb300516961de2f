// The mode oracle: every fixture cluster (kube-proxy's conformance cases and ktables' own) is
// compiled for iptables and for nftables with the same flags, every entry point is traced from
// every client on both, and every difference must be one kube-proxy documents or implements on
// purpose (src/behaviour/reasons.ts). Anything else is a bug in one of the two backends (or a
// difference the table lacks: then add it, with its source).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changeCount } from '../src/behaviour/compare.js';
import { MODE_DIFFERENCES } from '../src/behaviour/reasons.js';
import { allClusters, modeDiff } from './behaviour-support.js';
import { ROOT } from './helpers/cases.js';

const clusters = allClusters();
const used = new Set<string>();

function unexplained(d: ReturnType<typeof modeDiff>): string[] {
  return d.services.flatMap((s) =>
    s.changes
      .filter((c) => !c.why)
      .map(
        (c) =>
          `${s.service} ${s.protocol}: ${c.probe.destination} from ${c.probe.from}: ${c.old.verdict || '(none)'} -> ${c.new.verdict || '(none)'}`,
      ),
  );
}

describe('iptables vs nftables on every fixture cluster', () => {
  it('finds the clusters', () => {
    expect(clusters.length).toBeGreaterThan(90);
  });
  for (const c of clusters) {
    it(c.name, () => {
      const yaml = readFileSync(join(c.dir, 'manifests.yaml'), 'utf8');
      for (const [o, n] of [
        ['iptables', 'nftables'],
        ['nftables', 'iptables'],
      ] as const) {
        let d: ReturnType<typeof modeDiff>;
        try {
          d = modeDiff(yaml, c.args, o, n);
        } catch (e) {
          // An iptables fixture pinned to a release before nftables mode is modelled (1.35) has
          // no nftables side to compare with: that is the only refusal allowed here.
          expect(String(e)).toMatch(/is not a release ktables models for --proxy-mode nftables/);
          expect(c.name.startsWith('iptables/')).toBe(true);
          return;
        }
        expect(unexplained(d), `${o} -> ${n}`).toEqual([]);
        for (const s of d.services) for (const ch of s.changes) used.add(ch.why!.id);
        expect(d.unchanged + changeCount(d)).toBeGreaterThan(0);
      }
    });
  }
  it('uses every documented difference somewhere (none is dead)', () => {
    expect([...used].sort()).toEqual(MODE_DIFFERENCES.map((d) => d.id).sort());
  });
});

describe('the oracle itself', () => {
  const example = readFileSync(join(ROOT, 'examples', 'cluster.yaml'), 'utf8');
  it('sees no difference between a mode and itself', () => {
    for (const m of ['iptables', 'nftables'] as const) expect(changeCount(modeDiff(example, [], m, m))).toBe(0);
  });
});
