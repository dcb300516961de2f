// `ktables cleanup`: remove what kube-proxy and ktables installed on a node, in both families
// and both modes: the jump rules and KUBE-* chains kube-proxy owns (as kube-proxy's own cleanup
// does), the kube-proxy nftables tables, and what the record says ktables itself created
// (KUBE-FIREWALL when it made it, nfacct counters, route_localnet). Nothing else is touched.
import type { Family } from '../util/ip.js';
import { SystemError } from '../errors.js';
import { iptablesCleanupPayload, iptablesTool, nftFamily, nftReplaceInput, NFT_TABLE } from './plan.js';
import { clearRecord, readIptables, readNfacct, readNftTable, readRecord, targetName, type Target } from './state.js';
import { preflight } from './execute.js';
import type { System } from './system.js';
import { dropCreatedNftObjects } from './nftcompat.js';

export interface CleanupResult {
  /** What was removed, one line each. */
  removed: string[];
  /** What could not be removed, or was left on purpose. */
  problems: string[];
}

export async function cleanup(sys: System, t: Target): Promise<CleanupResult> {
  preflight(sys, 'cleanup', t.netns ? ['ip'] : [], t);
  const record = readRecord(sys.host, t);
  const removed: string[] = [];
  const problems: string[] = [];
  const families: Family[] = ['ipv4', 'ipv6'];

  for (const family of families) {
    const save = iptablesTool(family, 'save');
    if (!sys.which(save) || !sys.which(iptablesTool(family, 'restore'))) continue;
    const now = await readIptables(sys, t, family);
    const p = iptablesCleanupPayload(now.rules, record);
    problems.push(...p.problems.map((x) => `${family}: ${x}`));
    if (p.text) {
      await sys.run(iptablesTool(family, 'restore'), ['--noflush', '--wait'], { netns: t.netns, input: p.text });
      removed.push(...p.removed.map((c) => `${family === 'ipv4' ? 'iptables' : 'ip6tables'} ${c.replace('/', ' ')}`));
    }
    const made = record.iptablesNft.filter((k) => k.startsWith(`${family}/`)).map((k) => k.slice(k.indexOf('/') + 1));
    removed.push(...(await dropCreatedNftObjects(sys, t, family, made)).map((x) => `empty nftables ${x} (iptables-nft made it for apply)`));
  }

  if (sys.which('nft')) {
    for (const family of families) {
      if ((await readNftTable(sys, t, family)) === undefined) continue;
      await sys.run('nft', ['-f', '-'], { netns: t.netns, input: nftReplaceInput(family, undefined) });
      removed.push(`nftables table ${nftFamily(family)} ${NFT_TABLE}`);
    }
  }

  // Counters go last: the kernel refuses to delete one that a rule still uses.
  if (record.nfacct.length > 0) {
    const present = (await readNfacct(sys, t)) ?? [];
    for (const name of record.nfacct) {
      if (!present.includes(name)) continue;
      const r = await sys.run('nfacct', ['del', name], { netns: t.netns, allowFailure: true });
      if (r.exitCode === 0) removed.push(`nfacct counter ${name}`);
      else problems.push(`nfacct counter ${name}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    }
  }
  for (const [key, value] of Object.entries(record.sysctls)) {
    await sys.run('sysctl', ['-q', '-w', `${key}=${value}`], { netns: t.netns });
    removed.push(`sysctl ${key} set back to ${value}`);
  }
  if (problems.length === 0) clearRecord(sys.host, t);
  return { removed, problems };
}

export function cleanupFailed(t: Target, problems: string[]): SystemError {
  return new SystemError(`cleanup of ${targetName(t)} left things behind:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}
