// A flows file for `verify --flows`: the packet flows kube-proxy's tests expect, as the
// conformance cases hold them (flows.yaml, or the same list as JSON). Every field is validated
// here, like a manifest: the addresses become lab addresses and probe targets, so nothing
// unchecked may reach the system. All problems are reported at once, each at its line.
import yaml from 'js-yaml';
import { z } from 'zod';
import type { Problem } from '../errors.js';
import { canonicalIP } from '../util/ip.js';
import { LIMITS } from './limits.js';
import { locate } from './positions.js';

const ip = z.string().refine((s) => canonicalIP(s) !== undefined, { message: 'must be an IPv4 or IPv6 address' });

const flowSchema = z.strictObject({
  name: z.string().optional(),
  sourceIP: ip,
  destIP: ip,
  destPort: z.number().int().min(1).max(65535),
  protocol: z.enum(['TCP', 'UDP', 'SCTP', 'tcp', 'udp', 'sctp']).optional(),
  /** kube-proxy's expected verdict: endpoints joined by ", ", DROP, REJECT, ACCEPT or "". */
  output: z.string().optional(),
  masq: z.boolean().optional(),
});

export type FlowSpec = z.infer<typeof flowSchema>;

/** Each flow is a probe in the lab; more than this is no test a person wrote. */
const MAX_FLOWS = 10_000;

const listSchema = z.array(flowSchema).max(MAX_FLOWS);

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function messageOf(issue: z.core.$ZodIssue, path: readonly PropertyKey[], value: unknown): string {
  if (path.length === 0 && issue.code === 'too_big') return `holds more than ${MAX_FLOWS} flows (the limit)`;
  if (path.length === 0) return 'expected a list of flows ({name, sourceIP, destIP, destPort, protocol, output, masq})';
  if (issue.code === 'unrecognized_keys') return `is not a flow field (expected ${Object.keys(flowSchema.shape).join(', ')})`;
  if (issue.code === 'invalid_type')
    return value === undefined ? 'is required' : `must be ${issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`}`;
  if (issue.code === 'too_big' || issue.code === 'too_small') return `must be a port number, 1 to 65535`;
  return issue.message;
}

/**
 * The flows in TEXT (the contents of FILE), or the problems that keep them from being used:
 * YAML/JSON syntax, the shape (a list of flows) and every field of every flow.
 */
export function parseFlows(file: string, text: string): { flows: FlowSpec[] } | { problems: Problem[] } {
  let raw: unknown;
  try {
    raw = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA, maxDepth: LIMITS.depth } as yaml.LoadOptions);
  } catch (e) {
    const err = e as { reason?: string; mark?: { line: number; column: number } };
    const where = err.mark ? { line: err.mark.line + 1, column: err.mark.column + 1 } : {};
    return { problems: [{ file, ...where, message: `cannot read flows: ${err.reason ?? String(e)}` }] };
  }
  const parsed = listSchema.safeParse(raw);
  if (parsed.success) return { flows: parsed.data };
  const problems = parsed.error.issues.map((issue): Problem => {
    // An unknown key is pointed at itself.
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const value = issue.code === 'unrecognized_keys' ? undefined : valueAt(raw, path);
    const pos = locate(text, path, { key: issue.code === 'unrecognized_keys' });
    const field = path.length > 0 ? pathText(path).replace(/^\./, '') : undefined;
    return {
      file,
      ...(pos ? { line: pos.line, column: pos.column } : {}),
      ...(field ? { field } : {}),
      message: messageOf(issue, path, value),
      ...(value !== undefined && typeof value !== 'object' ? { value } : {}),
    };
  });
  return { problems };
}
