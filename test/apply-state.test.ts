// apply's state on the risky path: the record of what ktables created and the backups. Not
// found is not corrupt; a corrupt record is an error naming the file (never read as empty, or
// cleanup would forget what ktables created); writes replace files atomically. And stdin: a
// failed read is an error in every command that reads it, never an empty input.
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyCreated } from '../src/apply/plan.js';
import { addToRecord, readRecord, writeBackup, type StateHost } from '../src/apply/state.js';
import { readStdin } from '../src/app/read-file.js';
import { run } from '../src/cli/main.js';
import { InputError, SystemError } from '../src/errors.js';
import type { HostFs } from '../src/host.js';
import { readFdBounded } from '../src/input/bounded.js';
import { replaceFileAtomically } from '../src/util/atomic-file.js';
import { ROOT } from './helpers/cases.js';
import { captureHost } from './helpers/cli.js';

const stateHost = (dir: string, fsImpl: HostFs = fs): StateHost => ({ fs: fsImpl, env: { KTABLES_STATE_DIR: dir }, pid: 4242 });
const freshDir = () => mkdtempSync(join(tmpdir(), 'ktables-state-test-'));
const target = { netns: 'n1' };

describe('the apply record', () => {
  it('a record that does not exist is an empty one', () => {
    expect(readRecord(stateHost(freshDir()), target)).toEqual(emptyCreated());
  });

  it('reads back what was added, merged with what earlier applies created', () => {
    const host = stateHost(freshDir());
    addToRecord(host, target, { ...emptyCreated(), nfacct: ['b'], sysctls: { k: '0' } });
    addToRecord(host, target, { ...emptyCreated(), nfacct: ['a'], chains: ['filter/KUBE-FIREWALL'], sysctls: { k: '1' } });
    expect(readRecord(host, target)).toEqual({
      nfacct: ['a', 'b'],
      chains: ['filter/KUBE-FIREWALL'],
      sysctls: { k: '0' },
      iptablesNft: [],
    });
  });

  it('a record of an older ktables without iptablesNft is complete', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'netns-n1.json'), JSON.stringify({ nfacct: ['x'], chains: [], sysctls: {} }));
    expect(readRecord(stateHost(dir), target)).toEqual({ ...emptyCreated(), nfacct: ['x'] });
  });

  for (const [what, text, why] of [
    ['cut short', '{"nfacct": ["x"], "chai', /not JSON/],
    ['empty', '', /not JSON/],
    ['not an object', '["x"]', /not a JSON object/],
    ['a field of the wrong type', '{"nfacct": "x", "chains": [], "sysctls": {}}', /"nfacct" is not a list of names/],
    ['sysctl values that are not text', '{"nfacct": [], "chains": [], "sysctls": {"a": 1}}', /"sysctls" is not a map/],
    ['no field at all', '{"other": 1}', /none of its fields/],
  ] as const) {
    it(`a corrupt record (${what}) is an error naming the file, not an empty record`, () => {
      const dir = freshDir();
      const file = join(dir, 'netns-n1.json');
      writeFileSync(file, text);
      let err: unknown;
      try {
        readRecord(stateHost(dir), target);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SystemError);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).toContain('cleanup cannot tell what to remove');
      // Nothing is written over it either.
      expect(() => addToRecord(stateHost(dir), target, emptyCreated())).toThrow(SystemError);
      expect(readFileSync(file, 'utf8')).toBe(text);
    });
  }

  it('a record that cannot be read (a directory in its place) is an error naming the file', () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'netns-n1.json'));
    expect(() => readRecord(stateHost(dir), target)).toThrow(/netns-n1\.json: .*cannot read it: EISDIR/);
  });
});

/** node:fs that logs the calls of an atomic replace, and can fail one of them. */
function spyFs(failAt?: string): { fs: HostFs; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(fs, {
    get(t, name: string) {
      const f = (t as unknown as Record<string, unknown>)[name];
      if (typeof f !== 'function' || !['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'rmSync'].includes(name)) return f;
      return (...args: unknown[]) => {
        calls.push(
          name === 'openSync' || name === 'renameSync' || name === 'rmSync'
            ? `${name} ${args.slice(0, name === 'renameSync' ? 2 : 1).join(' ')}`
            : name,
        );
        if (name === failAt) throw Object.assign(new Error(`${name} failed`), { code: 'ENOSPC' });
        return (f as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  }) as HostFs;
  return { fs: proxy, calls };
}

describe('atomic writes of the record and the backups', () => {
  it('write a temp file in the same directory, fsync it, then rename it over the file', () => {
    const dir = freshDir();
    const { fs: spy, calls } = spyFs();
    const file = writeBackup(stateHost(dir, spy), target, 'ipv4.iptables-save', '*nat\nCOMMIT\n');
    expect(file).toBe(join(dir, 'backup', 'netns-n1.ipv4.iptables-save'));
    const tmp = join(dir, 'backup', '.netns-n1.ipv4.iptables-save.4242.tmp');
    expect(calls).toEqual([`openSync ${tmp}`, 'writeSync', 'fsyncSync', 'closeSync', `renameSync ${tmp} ${file}`]);
    expect(readFileSync(file, 'utf8')).toBe('*nat\nCOMMIT\n');
  });

  it('the record too', () => {
    const dir = freshDir();
    const { fs: spy, calls } = spyFs();
    addToRecord(stateHost(dir, spy), target, { ...emptyCreated(), nfacct: ['c'] });
    expect(calls.at(-1)).toBe(`renameSync ${join(dir, '.netns-n1.json.4242.tmp')} ${join(dir, 'netns-n1.json')}`);
    expect(calls).toContain('fsyncSync');
  });

  for (const failAt of ['writeSync', 'fsyncSync', 'renameSync']) {
    it(`a failed ${failAt} leaves the old file whole and no temp file, and names the file`, () => {
      const dir = freshDir();
      mkdirSync(join(dir, 'backup'));
      const file = join(dir, 'backup', 'netns-n1.ipv4.nft');
      writeFileSync(file, 'old\n');
      const { fs: spy } = spyFs(failAt);
      expect(() => writeBackup(stateHost(dir, spy), target, 'ipv4.nft', 'new\n')).toThrow(`cannot write ${file}: ENOSPC`);
      expect(readFileSync(file, 'utf8')).toBe('old\n');
      expect(readdirSync(join(dir, 'backup'))).toEqual(['netns-n1.ipv4.nft']);
    });
  }

  it('replaceFileAtomically replaces an existing file', () => {
    const dir = freshDir();
    const file = join(dir, 'f');
    writeFileSync(file, 'a much longer old text\n');
    replaceFileAtomically(fs, file, 'new\n', 1);
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(readdirSync(dir)).toEqual(['f']);
  });
});

describe('stdin: a failed read is an error, never an empty input', () => {
  const eio = () => {
    throw Object.assign(new Error('read failed'), { code: 'EIO' });
  };

  it('readStdin', () => {
    expect(() => readStdin({ ...captureHost(), readStdin: eio })).toThrow(InputError);
    expect(() => readStdin({ ...captureHost(), readStdin: eio })).toThrow('<stdin>: cannot read: EIO');
  });

  it('the bounded reader under it passes read errors on', () => {
    const failing = { ...fs, fstatSync: fs.fstatSync, readSync: eio } as unknown as Parameters<typeof readFdBounded>[0];
    expect(() => readFdBounded(failing, 0)).toThrow('read failed');
  });

  for (const args of [
    ['diff', '-', join(ROOT, 'examples', 'cluster.yaml')],
    ['trace', '--rules', '-', '--src', '10.0.0.1', '--dst', '10.96.0.10', '--dport', '53'],
    ['apply', '--dry-run', '--rules', '-'],
  ]) {
    it(`ktables ${args[0]} with stdin that fails: exit 2, nothing on stdout`, async () => {
      const host = captureHost();
      const status = await run(args, { ...host, readStdin: eio });
      expect(status).toBe(2);
      expect(host.err).toContain('<stdin>: cannot read: EIO');
      expect(host.out).toBe('');
    });
  }
});
