// The one door to the host for apply, cleanup and verify: every external command runs through
// here (execa), so --verbose can show each one and a failure always carries its stderr; files
// (the record, backups) and the environment through the Host it carries.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { SystemError } from '../errors.js';
import { nodeHost, type Host } from '../host.js';

/** The Debian package that ships each tool, for the "not installed" message. */
const PACKAGE_OF: Record<string, string> = {
  'iptables-save': 'iptables',
  'iptables-restore': 'iptables',
  'ip6tables-save': 'iptables',
  'ip6tables-restore': 'iptables',
  nft: 'nftables',
  ip: 'iproute2',
  nfacct: 'nfacct',
  conntrack: 'conntrack',
  sysctl: 'procps',
  python3: 'python3',
};

// sbin directories are not on every user's PATH, but the tools live there.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export interface RunOptions {
  /** Run inside this network namespace (`ip netns exec NAME ...`). */
  netns?: string;
  /** Written to the command's stdin. */
  input?: string;
  /** Return a failed result instead of throwing. */
  allowFailure?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class System {
  private readonly paths = new Map<string, string | null>();
  /** The commands run and waited for so far, and the wall time they took together (ms). */
  readonly spent = { commands: 0, ms: 0 };

  /** log: where --verbose echoes commands (undefined: silent); host: files and environment. */
  constructor(
    readonly log?: (line: string) => void,
    readonly host: Host = nodeHost(),
  ) {}

  /** Absolute path of a tool, or undefined when it is not installed. */
  which(tool: string): string | undefined {
    if (tool.startsWith('/')) return tool;
    if (!this.paths.has(tool)) {
      const dirs = [...(this.host.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
      let found: string | null = null;
      for (const d of dirs) {
        const p = join(d, tool);
        try {
          accessSync(p, constants.X_OK);
          found = p;
          break;
        } catch {
          // not here
        }
      }
      this.paths.set(tool, found);
    }
    return this.paths.get(tool) ?? undefined;
  }

  /** Refuses, naming every missing tool and its package, unless all are installed. */
  requireTools(tools: string[]): void {
    const missing = [...new Set(tools)].filter((t) => !this.which(t));
    if (missing.length === 0) return;
    const pkgs = [...new Set(missing.map((t) => PACKAGE_OF[t] ?? t))];
    throw new SystemError(`${missing.join(', ')} not found: install ${pkgs.join(', ')} (apt-get install ${pkgs.join(' ')})`);
  }

  private argv(cmd: string, args: string[], netns: string | undefined): [string, string[]] {
    const bin = this.which(cmd);
    if (!bin) this.requireTools([cmd]);
    if (!netns) return [bin!, args];
    return [this.which('ip') ?? 'ip', ['netns', 'exec', netns, bin!, ...args]];
  }

  /** The command as a shell would show it, for --verbose and error messages. */
  describe(cmd: string, args: string[], o: RunOptions = {}): string {
    const words = [...(o.netns ? ['ip', 'netns', 'exec', o.netns] : []), cmd, ...args].map(shellWord);
    let s = words.join(' ');
    if (o.input !== undefined) {
      const lines = o.input.split('\n').length - (o.input.endsWith('\n') ? 1 : 0);
      s += ` < (${lines} line${lines === 1 ? '' : 's'})`;
    }
    return s;
  }

  private echo(cmd: string, args: string[], o: RunOptions): string {
    const text = this.describe(cmd, args, o);
    this.log?.(`+ ${text}`);
    return text;
  }

  private result(
    text: string,
    r: { exitCode?: number; stdout?: unknown; stderr?: unknown; failed?: boolean; timedOut?: boolean },
    o: RunOptions,
  ): RunResult {
    const out: RunResult = {
      command: text,
      exitCode: r.exitCode ?? (r.failed ? 1 : 0),
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
    };
    if (r.timedOut) out.stderr += `\n(timed out after ${o.timeoutMs} ms)`;
    if ((r.failed || out.exitCode !== 0) && !o.allowFailure) {
      throw new SystemError(`${text} failed (exit ${out.exitCode})`, out.stderr);
    }
    return out;
  }

  async run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
    const text = this.echo(cmd, args, o);
    const [file, argv] = this.argv(cmd, args, o.netns);
    const t0 = this.host.now();
    const r = await execa(file, argv, {
      input: o.input ?? '',
      reject: false,
      stripFinalNewline: false,
      timeout: o.timeoutMs,
      env: { LC_ALL: 'C' },
    });
    this.count(t0);
    return this.result(text, r, o);
  }

  private count(t0: number): void {
    this.spent.commands++;
    this.spent.ms += this.host.now() - t0;
  }

  /** "12 commands took 840 ms": what --verbose ends with, so ktables' own share of a call can be told. */
  spentLine(): string {
    const { commands, ms } = this.spent;
    return `${commands} command${commands === 1 ? '' : 's'} took ${ms} ms`;
  }

  /** For teardown on process exit, where nothing asynchronous runs any more. */
  runSync(cmd: string, args: string[], o: RunOptions = {}): RunResult {
    const text = this.echo(cmd, args, o);
    const [file, argv] = this.argv(cmd, args, o.netns);
    const t0 = this.host.now();
    const r = execaSync(file, argv, {
      input: o.input ?? '',
      reject: false,
      stripFinalNewline: false,
      timeout: o.timeoutMs,
      env: { LC_ALL: 'C' },
    });
    this.count(t0);
    return this.result(text, r, o);
  }

  /**
   * Starts a long-running helper. `ip netns exec` execs the command, so the pid is the helper's
   * own and killing it is enough.
   */
  start(
    cmd: string,
    args: string[],
    o: { netns?: string; detached?: boolean } = {},
  ): ResultPromise<{ buffer: false; reject: false; stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; detached: boolean; cleanup: boolean }> {
    this.echo(cmd, args, o);
    const [file, argv] = this.argv(cmd, args, o.netns);
    return execa(file, argv, {
      buffer: false,
      reject: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      detached: o.detached ?? false,
      cleanup: !o.detached,
    });
  }
}

function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** apply, cleanup and verify change netfilter state: only root may. */
export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new SystemError(`${what} changes netfilter rules and needs root: run it as root (e.g. with sudo)`);
  }
}
