// Input limits, in one place (README "Limits"). A real cluster's manifests stay far below
// them; they exist so hostile input (a YAML alias bomb, /dev/zero, a million nested brackets)
// ends in a clear exit 2 quickly and with bounded memory instead of a crash.

function fromEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || !/^[1-9][0-9]{0,15}$/.test(v)) return fallback;
  return Number(v);
}

export const LIMITS = {
  /** Bytes read from one file or stdin (KTABLES_MAX_INPUT_BYTES overrides; tests use it). */
  inputBytes: fromEnv('KTABLES_MAX_INPUT_BYTES', 512 * 1024 * 1024),
  /** Nesting depth of mappings and sequences in one YAML or JSON document. */
  depth: 64,
  /**
   * Nodes a document may hold once aliases are expanded: this many per byte of the document
   * (plus a floor), so plain documents always fit and "billion laughs" stops early.
   */
  expansionPerByte: 4,
  expansionFloor: 100_000,
} as const;

export function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MB`;
  if (n % 1024 === 0) return `${n / 1024} KB`;
  return `${n} bytes`;
}
