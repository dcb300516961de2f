// Helpers for the nftables tests: in-process compile from an args line, throwaway network
// namespaces for loading rule sets into a real kernel, and a normal form that ignores how
// `nft list ruleset` respells what it was given.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { compileNftables } from '../../src/backends/nftables/compile.js';
import { proxyOptions, withCompileFlags, type CompileFlags } from '../../src/cli/flags.js';
import { emitNftables } from '../../src/emit/nftables.js';
import { loadInventory } from '../../src/input/load.js';
import type { Expr, NftRuleset, Rule, Verdict } from '../../src/ir/nftables.js';
import { buildModel } from '../../src/model/build.js';
import type { TracePacket, TraceProtocol } from '../../src/trace/packet.js';
import { parseCIDR, parseIP } from '../../src/util/ip.js';
import type { Flow } from './cases.js';
import { ROOT, splitArgs } from './cases.js';

/** ktables' own nftables fixtures (fixtures/nftables/<case>; `_` folders hold other material). */
export const NFT_GOLDEN_CASES = readdirSync(join(ROOT, 'fixtures', 'nftables'))
  .filter((n) => !n.startsWith('_') && statSync(join(ROOT, 'fixtures', 'nftables', n)).isDirectory())
  .sort();

export interface Compiled {
  text: string;
  family: 'ipv4' | 'ipv6';
  nodeIPs: string[];
}

/** Compiles DIR/manifests.yaml with the flags of an args line, in-process. */
export function compileWithArgs(dir: string, argsLine: string): Compiled {
  const flags = withCompileFlags(yargs([]))
    .parserConfiguration({ 'duplicate-arguments-array': true, 'camel-case-expansion': false })
    .parseSync(splitArgs(argsLine)) as unknown as CompileFlags;
  const opts = proxyOptions(flags);
  const inv = loadInventory([join(dir, 'manifests.yaml')], () => '');
  const model = buildModel(inv, opts);
  return { text: emitNftables(compileNftables(model)), family: model.node.family, nodeIPs: model.node.nodeIPs };
}

export function flowPacket(f: Flow): TracePacket {
  return { src: f.sourceIP, dst: f.destIP, dport: f.destPort, protocol: (f.protocol ?? 'TCP').toLowerCase() as TraceProtocol };
}

// ---- network namespaces ----------------------------------------------------------------

let counter = 0;

function run(cmd: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 512 << 20 });
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  const name = `ktables-probe-${process.pid}`;
  const add = run('ip', ['netns', 'add', name]);
  if (add.error) return `cannot run ip: ${add.error.message}`;
  if (add.status !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
  const nft = run('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']);
  run('ip', ['netns', 'del', name]);
  if (nft.error || nft.status !== 0) return `nft does not run in a network namespace: ${nft.error?.message ?? nft.stderr.trim()}`;
  return undefined;
}

export interface KernelLoad {
  status: number | null;
  stderr: string;
  /** `nft list ruleset` after the load (empty when the load failed). */
  listing: string;
}

/** Loads rule text with `nft -f` into a fresh network namespace, lists it back, deletes the namespace. */
export function loadInNetns(text: string): KernelLoad {
  const name = `ktables-t-${process.pid}-${++counter}`;
  const dir = mkdtempSync(join(tmpdir(), 'ktables-nft-'));
  const file = join(dir, 'rules.nft');
  writeFileSync(file, text);
  const add = run('ip', ['netns', 'add', name]);
  if (add.status !== 0) throw new Error(`ip netns add ${name}: ${add.stderr}`);
  try {
    const load = run('ip', ['netns', 'exec', name, 'nft', '-f', file]);
    const listing = load.status === 0 ? run('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']).stdout : '';
    return { status: load.status, stderr: load.stderr, listing };
  } finally {
    run('ip', ['netns', 'del', name]);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- normal form ------------------------------------------------------------------------

const toBig = (bytes: Uint8Array) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);

/** An address, CIDR or a-b range as a closed interval of 128-bit numbers. */
function interval(v: string): [bigint, bigint] {
  if (v.includes('/')) {
    const c = parseCIDR(v)!;
    const bits = BigInt((c.ip.family === 'ipv4' ? 32 : 128) - c.prefix);
    const lo = toBig(c.ip.bytes);
    return [lo, lo + (1n << bits) - 1n];
  }
  const dash = v.indexOf('-');
  if (dash > 0 && !v.includes(':')) return [toBig(parseIP(v.slice(0, dash))!.bytes), toBig(parseIP(v.slice(dash + 1))!.bytes)];
  const n = toBig(parseIP(v)!.bytes);
  return [n, n];
}

/** The addresses a list of values covers, as merged intervals (the kernel merges adjacent ones). */
function coverage(values: string[]): string[] {
  const sorted = values.map(interval).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1n) last[1] = hi > last[1] ? hi : last[1];
    else merged.push([lo, hi]);
  }
  return merged.map(([lo, hi]) => `${lo.toString(16)}-${hi.toString(16)}`);
}

const hex = (v: string) => `0x${(v.startsWith('0x') ? Number.parseInt(v.slice(2), 16) : Number(v)).toString(16)}`;

function normalExpr(e: Expr): Expr {
  switch (e.kind) {
    case 'addr':
      // nft prints a one-element anonymous set as a plain value; the kernel merges adjacent elements.
      return { kind: 'addr', l3: e.l3, field: e.field, negate: !!e.negate, values: coverage(e.values) };
    case 'markMatch':
      return { kind: 'markMatch', mask: hex(e.mask), value: hex(e.value), negate: !!e.negate };
    case 'markSet':
      return { kind: 'markSet', op: e.op, value: hex(e.value) };
    case 'ifname':
      return { kind: 'ifname', dir: e.dir, negate: !!e.negate, name: e.name };
    default:
      return 'negate' in e ? { ...e, negate: !!e.negate } : e;
  }
}

function normalVerdict(v: Verdict | undefined): Verdict | undefined {
  if (v?.kind === 'dnatMap') {
    const { style: _style, ...rest } = v;
    return { ...rest, sep: ' , ' };
  }
  if (v?.kind === 'dnat') return { kind: 'dnat', to: v.to };
  return v?.kind === 'numgen' ? { ...v, sep: ' , ' } : v;
}

function normalRule(r: Rule): Rule {
  const out: Rule = { exprs: r.exprs.map(normalExpr) };
  const v = normalVerdict(r.verdict);
  if (v) out.verdict = v;
  if (r.comment !== undefined) out.comment = r.comment;
  return out;
}

/**
 * The rule set as the kernel holds it, whichever spelling it came in: no source lines, marks
 * as plain hex, one-element sets as values, default policies and the kernel's default set
 * size dropped, elements in key order.
 */
export function kernelNormalForm(rs: NftRuleset): string {
  const tables = rs.tables.map((t) => ({
    ...t,
    chains: t.chains.map((c) => {
      const base = c.base
        ? {
            type: c.base.type,
            hook: c.base.hook,
            priority: c.base.priority,
            ...(c.base.policy === 'drop' ? { policy: 'drop' as const } : {}),
          }
        : undefined;
      return {
        name: c.name,
        ...(base ? { base } : {}),
        ...(c.comment !== undefined ? { comment: c.comment } : {}),
        rules: c.rules.map(normalRule),
      };
    }),
    sets: t.sets.map(({ size: _size, ...s }) => s),
  }));
  return emitNftables({ tables });
}
