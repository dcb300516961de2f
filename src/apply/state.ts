// Reading the node (or a network namespace): its rules, nfacct counters and sysctls, and the
// record of what ktables created there. Side effects only; decisions are in plan.ts.
import type { Family } from '../util/ip.js';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemError } from '../errors.js';
import { emptyCreated, iptablesTool, nftFamily, NFT_TABLE, type Created } from './plan.js';
import { readSaved, type SavedRules } from './saved.js';
import type { System } from './system.js';

export interface Target {
  /** A network namespace (`ip netns` name), or undefined for the host itself. */
  netns?: string;
}

export const targetName = (t: Target) => (t.netns ? `network namespace ${t.netns}` : 'this host');

export interface IptablesState {
  text: string;
  saved: SavedRules;
}

export async function readIptables(sys: System, t: Target, family: Family): Promise<IptablesState> {
  const r = await sys.run(iptablesTool(family, 'save'), [], { netns: t.netns });
  return { text: r.stdout, saved: readSaved(r.stdout, family) };
}

/** The nfacct counters that exist, or undefined where nfacct is not installed or the kernel lacks it. */
export async function readNfacct(sys: System, t: Target): Promise<string[] | undefined> {
  if (!sys.which('nfacct')) return undefined;
  const r = await sys.run('nfacct', ['list'], { netns: t.netns, allowFailure: true });
  if (r.exitCode !== 0) return undefined;
  return [...r.stdout.matchAll(/=\s*(\S+);\s*$/gm)].map((m) => m[1]!);
}

/** `nft list table` of the kube-proxy table, or undefined when it does not exist. */
export async function readNftTable(sys: System, t: Target, family: Family): Promise<string | undefined> {
  const r = await sys.run('nft', ['list', 'table', nftFamily(family), NFT_TABLE], { netns: t.netns, allowFailure: true });
  if (r.exitCode === 0) return r.stdout;
  if (/No such file or directory/.test(r.stderr)) return undefined;
  throw new SystemError(`${r.command} failed (exit ${r.exitCode})`, r.stderr);
}

export async function readSysctl(sys: System, t: Target, name: string): Promise<string> {
  const r = await sys.run('sysctl', ['-n', name], { netns: t.netns });
  return r.stdout.trim();
}

export function requireNetns(t: Target, exists: (name: string) => boolean): void {
  if (t.netns && !exists(t.netns)) throw new SystemError(`no network namespace named ${t.netns} (see ip netns list)`);
}

// ---------------------------------------------------------------------------------------------
// The record of what ktables created. It lives in /run (tmpfs): the rules it describes do not
// survive a reboot either.

function stateDir(): string {
  return process.env['KTABLES_STATE_DIR'] ?? '/run/ktables';
}

function recordFile(t: Target): string {
  return join(stateDir(), t.netns ? `netns-${t.netns}.json` : 'host.json');
}

export function readRecord(t: Target): Created {
  try {
    const raw = JSON.parse(readFileSync(recordFile(t), 'utf8')) as Partial<Created>;
    return { nfacct: raw.nfacct ?? [], chains: raw.chains ?? [], sysctls: raw.sysctls ?? {}, iptablesNft: raw.iptablesNft ?? [] };
  } catch {
    return emptyCreated();
  }
}

/** Adds what one apply created to what earlier applies created. */
export function addToRecord(t: Target, c: Created): void {
  const old = readRecord(t);
  const merged: Created = {
    nfacct: [...new Set([...old.nfacct, ...c.nfacct])].sort(),
    chains: [...new Set([...old.chains, ...c.chains])].sort(),
    iptablesNft: [...new Set([...old.iptablesNft, ...c.iptablesNft])].sort(),
    // The first value seen is the one from before ktables touched the node.
    sysctls: { ...c.sysctls, ...old.sysctls },
  };
  mkdirSync(stateDir(), { recursive: true });
  writeFileSync(recordFile(t), JSON.stringify(merged, null, 2) + '\n');
}

export function clearRecord(t: Target): void {
  rmSync(recordFile(t), { force: true });
}

/** A namespace that is gone takes its record and backups with it. */
export function forgetTarget(t: Target): void {
  clearRecord(t);
  const prefix = t.netns ? `netns-${t.netns}.` : 'host.';
  for (const what of ['ipv4.iptables-save', 'ipv6.iptables-save', 'ipv4.nft', 'ipv6.nft'])
    rmSync(join(stateDir(), 'backup', prefix + what), { force: true });
}

/** Keeps the latest backup per target and family where an operator can find it. */
export function writeBackup(t: Target, what: string, text: string): string {
  const dir = join(stateDir(), 'backup');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${t.netns ? `netns-${t.netns}` : 'host'}.${what}`);
  writeFileSync(file, text);
  return file;
}
