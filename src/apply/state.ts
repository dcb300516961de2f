// Reading the node (or a network namespace): its rules, nfacct counters and sysctls, and the
// record of what ktables created there. Side effects only; decisions are in plan.ts.
import { join } from 'node:path';
import { SystemError } from '../errors.js';
import type { Host } from '../host.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import { replaceFileAtomically } from '../util/atomic-file.js';
import { emptyCreated, iptablesTool, nftFamily, NFT_TABLE, type Created } from './plan.js';
import type { Family } from '../util/ip.js';
import { readNodeRules } from './node-rules.js';
import type { System } from './system.js';

/** What the record and the backups need from the host: files, the environment, the pid for temp names. */
export type StateHost = Pick<Host, 'fs' | 'env' | 'pid'>;

export interface Target {
  /** A network namespace (`ip netns` name), or undefined for the host itself. */
  netns?: string;
}

export const targetName = (t: Target) => (t.netns ? `network namespace ${t.netns}` : 'this host');

export interface IptablesState {
  /** iptables-save's output as printed: the backup. */
  text: string;
  rules: IptablesRuleset;
}

export async function readIptables(sys: System, t: Target, family: Family): Promise<IptablesState> {
  const tool = iptablesTool(family, 'save');
  const r = await sys.run(tool, [], { netns: t.netns });
  return { text: r.stdout, rules: readNodeRules(r.stdout, family, tool) };
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
// survive a reboot either. A record that is missing means "nothing created"; one that cannot be
// read or makes no sense is an error naming the file, never read as empty: cleanup would then
// forget what ktables created.

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

function stateDir(host: StateHost): string {
  return host.env['KTABLES_STATE_DIR'] || '/run/ktables';
}

function recordFile(host: StateHost, t: Target): string {
  return join(stateDir(host), t.netns ? `netns-${t.netns}.json` : 'host.json');
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The record's fields, checked; undefined when it is not a record (the reason in `why`). */
function checkRecord(raw: unknown, why: string[]): Created | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    why.push('not a JSON object');
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  // iptablesNft came later: an older record without it is complete.
  const lists = ['nfacct', 'chains', 'iptablesNft'] as const;
  for (const k of lists) if (r[k] !== undefined && !isStrings(r[k])) why.push(`"${k}" is not a list of names`);
  const sysctls = r['sysctls'];
  if (
    sysctls !== undefined &&
    (typeof sysctls !== 'object' ||
      sysctls === null ||
      Array.isArray(sysctls) ||
      !Object.values(sysctls).every((v) => typeof v === 'string'))
  )
    why.push('"sysctls" is not a map of names to values');
  if (r['nfacct'] === undefined && r['chains'] === undefined && r['sysctls'] === undefined) why.push('none of its fields is there');
  if (why.length > 0) return undefined;
  return {
    nfacct: (r['nfacct'] as string[] | undefined) ?? [],
    chains: (r['chains'] as string[] | undefined) ?? [],
    sysctls: (sysctls as Record<string, string> | undefined) ?? {},
    iptablesNft: (r['iptablesNft'] as string[] | undefined) ?? [],
  };
}

function corrupt(file: string, why: string): SystemError {
  return new SystemError(
    `${file}: the record of what ktables created is unreadable (${why}); ` +
      'cleanup cannot tell what to remove: look at it, then fix or delete it',
  );
}

export function readRecord(host: StateHost, t: Target): Created {
  const file = recordFile(host, t);
  let text: string;
  try {
    text = host.fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT') return emptyCreated();
    if (errno(e) === undefined) throw e;
    throw corrupt(file, `cannot read it: ${errno(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `not JSON: ${(e as Error).message}`);
  }
  const why: string[] = [];
  const record = checkRecord(raw, why);
  if (!record) throw corrupt(file, why.join('; '));
  return record;
}

/** Writes FILE atomically, or says which file could not be written. */
function writeState(host: StateHost, file: string, text: string): void {
  try {
    host.fs.mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    replaceFileAtomically(host.fs, file, text, host.pid);
  } catch (e) {
    if (errno(e) === undefined) throw e;
    throw new SystemError(`cannot write ${file}: ${errno(e)}`);
  }
}

/** Adds what one apply created to what earlier applies created. */
export function addToRecord(host: StateHost, t: Target, c: Created): void {
  const old = readRecord(host, t);
  const merged: Created = {
    nfacct: [...new Set([...old.nfacct, ...c.nfacct])].sort(),
    chains: [...new Set([...old.chains, ...c.chains])].sort(),
    iptablesNft: [...new Set([...old.iptablesNft, ...c.iptablesNft])].sort(),
    // The first value seen is the one from before ktables touched the node.
    sysctls: { ...c.sysctls, ...old.sysctls },
  };
  writeState(host, recordFile(host, t), JSON.stringify(merged, null, 2) + '\n');
}

export function clearRecord(host: StateHost, t: Target): void {
  host.fs.rmSync(recordFile(host, t), { force: true });
}

/** A namespace that is gone takes its record and backups with it. */
export function forgetTarget(host: StateHost, t: Target): void {
  clearRecord(host, t);
  const prefix = t.netns ? `netns-${t.netns}.` : 'host.';
  for (const what of ['ipv4.iptables-save', 'ipv6.iptables-save', 'ipv4.nft', 'ipv6.nft'])
    host.fs.rmSync(join(stateDir(host), 'backup', prefix + what), { force: true });
}

/** Keeps the latest backup per target and family where an operator can find it. */
export function writeBackup(host: StateHost, t: Target, what: string, text: string): string {
  const file = join(stateDir(host), 'backup', `${t.netns ? `netns-${t.netns}` : 'host'}.${what}`);
  writeState(host, file, text);
  return file;
}
