// Typed errors. Commands throw these; the CLI's single handler prints them and picks the exit
// code, so no stage prints or exits on its own.

/**
 * Every exit code ktables uses, in one place (README "Exit codes"). 1 is shared on purpose:
 * "the check ran and said no", as diff(1) and verification tools use it.
 */
export const EXIT = {
  ok: 0,
  /** `diff --exit-code`: the rule sets differ. */
  differences: 1,
  /** `verify`: packets did not go where the rules say. */
  verifyFailed: 1,
  /** Bad input: manifests, flags, config, rule files, limits exceeded, write errors. */
  input: 2,
  /** A system command (iptables-restore, nft, ip) failed. */
  system: 3,
  /** A bug in ktables (never expected; KTABLES_DEBUG=1 prints the stack). */
  internal: 70,
} as const;

/** Where a problem in the input sits: as precise as we know it. */
interface Location {
  file: string;
  document?: number; // 1-based document number within the file
  line?: number; // 1-based line of the document start (or of the field, when known)
  column?: number; // 1-based column of the field, when known
  object?: string; // "Kind namespace/name"
  field?: string; // e.g. spec.ports[0].port
}

export interface Problem extends Location {
  message: string; // what is wrong and what was expected
  value?: unknown;
}

export abstract class KtablesError extends Error {
  abstract readonly exitCode: number;
}

/** Bad manifests, flags or rule files: exit 2, one line per problem. */
export class InputError extends KtablesError {
  readonly exitCode = EXIT.input;
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InputError';
  }
}

/** A usage error in flags. */
export class UsageError extends KtablesError {
  readonly exitCode = EXIT.input;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A rule the tracer or parser cannot interpret: naming it is better than guessing. */
export class RuleError extends KtablesError {
  readonly exitCode = EXIT.input;
  constructor(message: string) {
    super(message);
    this.name = 'RuleError';
  }
}

/** A system command (iptables-restore, nft, ip) failed; carries its stderr. */
export class SystemError extends KtablesError {
  readonly exitCode = EXIT.system;
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(stderr ? `${message}\n${stderr.trimEnd()}` : message);
    this.name = 'SystemError';
  }
}

/** Verification ran and found mismatches. */
export class VerifyFailed extends KtablesError {
  readonly exitCode = EXIT.verifyFailed;
  constructor(message: string) {
    super(message);
    this.name = 'VerifyFailed';
  }
}

function show(value: unknown): string {
  // JSON has no infinities: say them as YAML spells them, not as JSON's null.
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function formatLocation(p: Location): string {
  let where = p.file;
  if (p.document !== undefined) where += ` document ${p.document}`;
  if (p.line !== undefined) where += p.column !== undefined ? ` (line ${p.line}, column ${p.column})` : ` (line ${p.line})`;
  if (p.object) where += `: ${p.object}`;
  if (p.field) where += `: ${p.field}`;
  return where;
}

export function formatProblem(p: Problem): string {
  const value = 'value' in p && p.value !== undefined ? ` (got ${show(p.value)})` : '';
  return `${formatLocation(p)}: ${p.message}${value}`;
}

/** Output could not be written (a full disk, a read-only place): exit 2, one line. */
export class OutputError extends KtablesError {
  readonly exitCode = EXIT.input;
  constructor(message: string) {
    super(message);
    this.name = 'OutputError';
  }
}

/** The reader of stdout went away (EPIPE, as with `| head`): stop quietly, as Unix tools do. */
export class OutputClosed extends KtablesError {
  readonly exitCode = EXIT.ok;
  constructor() {
    super('stdout closed');
    this.name = 'OutputClosed';
  }
}
