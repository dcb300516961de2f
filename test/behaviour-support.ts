// In-process behaviour diffs of fixture clusters between the two proxy modes, for the mode
// oracle test and the behaviour diff tests.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { withCompileFlags, proxyOptions, type CompileFlags } from '../src/cli/flags.js';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import { unionProbes } from '../src/behaviour/entries.js';
import { compareBehaviour, type BehaviourDiff } from '../src/behaviour/compare.js';
import { tracerForModel } from '../src/behaviour/tracers.js';
import type { SideInfo } from '../src/behaviour/reasons.js';
import { ROOT, splitArgs } from './helpers/cases.js';

export interface Cluster {
  name: string;
  dir: string;
  args: string[];
}

/** Every fixture cluster: kube-proxy's conformance cases and ktables' own, in both modes' folders. */
export function allClusters(): Cluster[] {
  // Every release folder of kube-proxy's cases (iptables, nftables, nftables-1.36, ...), then ktables' own.
  const kp = readdirSync(join(ROOT, 'fixtures', 'kube-proxy'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `fixtures/kube-proxy/${d.name}`)
    .sort();
  const roots = [...kp, 'fixtures/iptables', 'fixtures/nftables'];
  const out: Cluster[] = [];
  for (const r of roots) {
    const root = join(ROOT, r);
    for (const d of readdirSync(root, { withFileTypes: true })) {
      const dir = join(root, d.name);
      if (!d.isDirectory() || !existsSync(join(dir, 'manifests.yaml')) || !existsSync(join(dir, 'args'))) continue;
      out.push({ name: `${r.replace('fixtures/', '')}/${d.name}`, dir, args: splitArgs(readFileSync(join(dir, 'args'), 'utf8').trim()) });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function parseFlags(args: string[]): CompileFlags {
  return withCompileFlags(yargs(args))
    .parserConfiguration({ 'duplicate-arguments-array': true, 'camel-case-expansion': false })
    .strict(false)
    .parseSync() as unknown as CompileFlags;
}

/** The same cluster and flags, compiled for each mode (as `diff --behaviour --old-proxy-mode ... --new-proxy-mode ...`). */
export function modeDiff(
  manifests: string,
  args: string[],
  oldMode: 'iptables' | 'nftables' = 'iptables',
  newMode: 'iptables' | 'nftables' = 'nftables',
): BehaviourDiff {
  const flags = parseFlags(args);
  const side = (mode: 'iptables' | 'nftables') => {
    const opts = proxyOptions({ ...flags, 'proxy-mode': mode });
    const inv = loadInventory(['-'], () => manifests);
    const model = buildModel(inv, opts, [...inv.notes]);
    const info: SideInfo = { source: mode, input: 'manifests', proxyMode: mode, kubeProxyVersion: null, family: model.node.family };
    if (opts.nodePortAddresses !== undefined) info.nodePortAddresses = opts.nodePortAddresses;
    return { model, info, tracer: tracerForModel(model, mode) };
  };
  const o = side(oldMode);
  const n = side(newMode);
  const { probes, notes } = unionProbes([o.model, n.model]);
  return compareBehaviour(probes, { old: o.tracer, new: n.tracer }, { old: o.info, new: n.info }, notes);
}
