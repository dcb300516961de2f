// Shared by the diff tests: fixture layout (as scripts/golden-diff.mjs reads it) and a
// throwaway network namespace that plays a node for "apply, then iptables-save".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeProxyJumpRules } from '../src/kubeproxy/iptables-jumps.js';
import { formatRuleBody } from '../src/emit/iptables.js';
import { ROOT } from './helpers/cases.js';

export const DIFF_FIXTURES = join(ROOT, 'fixtures', 'diff');
export const DIFF_GOLDEN = join(ROOT, 'golden', 'diff');

export const FORMATS = [
  { ext: 'txt', args: ['--color', 'never'] },
  { ext: 'stat.txt', args: ['--color', 'never', '--stat'] },
  { ext: 'json', args: ['--format', 'json'] },
  { ext: 'md', args: ['--format', 'markdown'] },
];

/** A side of a case: its rule file when old/ (new/) holds one, else the manifests directory. */
export function side(dir: string, name: 'old' | 'new'): string {
  const files = readdirSync(join(dir, name)).filter((f) => /\.(rules|iptables-save|ip6tables-save|nft)$/.test(f));
  return files.length === 1 ? `${name}/${files[0]}` : name;
}

export function caseArgs(dir: string): string[] {
  const f = join(dir, 'args');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean) : [];
}

function sh(cmd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input: input ?? '', encoding: 'utf8', maxBuffer: 256 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  const name = `ktdiff-probe-${process.pid}`;
  const add = sh('ip', ['netns', 'add', name]);
  if (add.status !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
  const ipt = sh('ip', ['netns', 'exec', name, 'iptables-save']);
  sh('ip', ['netns', 'del', name]);
  if (ipt.status !== 0) return `iptables-save in a namespace failed: ${ipt.stderr.trim()}`;
  return undefined;
}

export interface NodeOptions {
  family: 'ipv4' | 'ipv6';
  /** iptables (the nf_tables variant) or iptables-legacy. */
  variant: 'iptables' | 'iptables-legacy';
  /** Program kube-proxy's jump rules in the built-in chains first, as kube-proxy and apply do. */
  jumps?: boolean;
  /** Commands (argument lists for the iptables binary) to run after the restore. */
  after?: string[][];
}

/**
 * Plays a node: a fresh namespace, the nfacct counters kube-proxy uses, its jump rules in the
 * built-in chains, `iptables-restore --noflush` of RULES, then `iptables-save`. Returns the dump.
 */
export function applyAndSave(rules: string, o: NodeOptions): string {
  const name = `ktdiff-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const bin = o.family === 'ipv6' ? o.variant.replace('iptables', 'ip6tables') : o.variant;
  const ns = (args: string[], input?: string) => {
    const r = sh('ip', ['netns', 'exec', name, ...args], input);
    if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  const add = sh('ip', ['netns', 'add', name]);
  if (add.status !== 0) throw new Error(`ip netns add ${name}: ${add.stderr}`);
  try {
    ns(['nfacct', 'add', 'ct_state_invalid_dropped_pkts']);
    ns(['nfacct', 'add', 'localhost_nps_accepted_pkts']);
    if (o.jumps !== false) {
      for (const j of kubeProxyJumpRules()) {
        const target = j.rule.target?.kind === 'jump' ? j.rule.target.chain : '';
        sh('ip', ['netns', 'exec', name, bin, '-w', '-t', j.table, '-N', target]); // may exist
        const body = tokenizeBody(formatRuleBody(j.rule));
        const check = sh('ip', ['netns', 'exec', name, bin, '-w', '-t', j.table, '-C', j.chain, ...body]);
        if (check.status !== 0) ns([bin, '-w', '-t', j.table, '-I', j.chain, '1', ...body]);
      }
    }
    ns([`${bin}-restore`, '--noflush', '--wait'], rules);
    for (const a of o.after ?? []) ns([bin, '-w', ...a]);
    return ns([`${bin}-save`]);
  } finally {
    sh('ip', ['netns', 'del', name]);
  }
}

/** Splits a rule body into arguments (kube-proxy's comments are the only quoted words). */
function tokenizeBody(body: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) out.push(m[1] ?? m[2]!);
  return out;
}

export function hasBinary(name: string): boolean {
  return sh('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** Plays an nftables node: a fresh namespace, `nft -f RULES`, then `nft list ruleset`. */
export function loadAndListNft(rules: string, after: string[][] = []): string {
  const name = `ktdiff-nft-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const add = sh('ip', ['netns', 'add', name]);
  if (add.status !== 0) throw new Error(`ip netns add ${name}: ${add.stderr}`);
  try {
    const ns = (args: string[], input?: string) => {
      const r = sh('ip', ['netns', 'exec', name, ...args], input);
      if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
      return r.stdout;
    };
    ns(['nft', '-f', '-'], rules);
    for (const a of after) ns(['nft', ...a]);
    return ns(['nft', 'list', 'ruleset']);
  } finally {
    sh('ip', ['netns', 'del', name]);
  }
}
