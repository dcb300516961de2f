import { createRequire } from 'node:module';
import type { z } from 'zod';
import { InputError, type Problem } from '../errors.js';
import { readSources, type InputHost } from './read.js';
import type { SourceObject } from './documents.js';
import { isDns1123Subdomain, isLabelValue } from './patterns.js';
import { locate } from './positions.js';
import { clusterIPProblems } from './service-checks.js';
import { kindSchemas, type EndpointSliceObject, type EndpointsObject, type NodeObject, type ServiceObject } from './schemas.js';
import { V1BETA1, endpointSliceV1 } from './v1beta1.js';
import { fastParse } from './fast-check.js';
import { ipFamily } from './ip-family.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
// kube-proxy's informers never deliver objects carrying these labels.
const PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

interface Located<T> {
  where: string; // "file document N (line L)": for --verbose notes
  object: T;
}

/** Everything the input held that kube-proxy would look at, validated. */
export interface Inventory {
  services: Located<ServiceObject>[];
  slices: Located<EndpointSliceObject>[];
  endpoints: Located<EndpointsObject>[];
  nodes: Located<NodeObject>[];
  notes: string[]; // what was skipped and why (printed with --verbose)
}

const API_VERSIONS: Record<string, string> = {
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Endpoints: 'v1',
  Node: 'v1',
};

// zod and the schemas load on the first object the fast checks refuse: loading zod costs more
// CPU than compiling a small cluster. It is required (its CommonJS build) because this is sync.
let schemas: Record<string, z.ZodType> | undefined;
function schemaOf(kind: string): z.ZodType {
  if (!schemas) {
    const s = kindSchemas((createRequire(import.meta.url)('zod') as { z: typeof z }).z);
    schemas = { Service: s.serviceSchema, EndpointSlice: s.endpointSliceSchema, Endpoints: s.endpointsSchema, Node: s.nodeSchema };
  }
  return schemas[kind]!;
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

// Names in messages are shown JSON-quoted when they hold anything unusual, so a newline or a
// quote in an invalid name cannot forge extra lines in the error output either.
function safe(text: string): string {
  return /^[A-Za-z0-9._-]+$/.test(text) ? text : JSON.stringify(text);
}

function describe(src: SourceObject): string {
  const v = src.value;
  const meta = (typeof v['metadata'] === 'object' && v['metadata'] !== null ? v['metadata'] : {}) as Record<string, unknown>;
  const name = typeof meta['name'] === 'string' ? safe(meta['name']) : '<unnamed>';
  const ns = typeof meta['namespace'] === 'string' ? `${safe(meta['namespace'])}/` : '';
  const kind = typeof v['kind'] === 'string' ? safe(v['kind']) : '<no kind>';
  return `${kind} ${ns}${name}`;
}

/** zod's wording for missing or mistyped fields, said the way a Kubernetes user expects. */
function issueMessage(issue: { code: string; message: string; expected?: unknown }, value: unknown): string {
  if (issue.code !== 'invalid_type') return issue.message;
  if (value === undefined) return 'is required';
  const expected = String(issue.expected ?? 'a different type');
  const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
  return issue.message.startsWith('Invalid input') ? `must be ${article} ${expected}` : issue.message;
}

function whereText(src: SourceObject): string {
  return `${src.file} document ${src.document} (line ${src.line})${src.listIndex !== undefined ? ` items[${src.listIndex}]` : ''}`;
}

/** "spec.ports[0].name", 'metadata.labels["a/b"]' -> the keys and indexes it names. */
function fieldPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of field.matchAll(/\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.[\]]+)/g)) {
    if (m[1] !== undefined) out.push(JSON.parse(`"${m[1]}"`) as string);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[3]!);
  }
  return out;
}

function problemAt(src: SourceObject, field: string, message: string, value?: unknown): Problem {
  const prefix = src.listIndex !== undefined ? `items[${src.listIndex}].` : '';
  // Point at the field itself (line and column) when the document's text can say where it is.
  const pos = src.text !== undefined ? locate(src.text, [...(src.path ?? []), ...fieldPath(field)]) : undefined;
  const where = pos ? { line: src.line + pos.line - 1, column: pos.column } : { line: src.line };
  return { file: src.file, document: src.document, ...where, object: describe(src), field: prefix + field, message, value };
}

/** Checks that go beyond one field: they need the sibling fields (addressType, ...). */
function crossChecks(src: SourceObject, kind: string, obj: unknown, problems: Problem[]): void {
  const labels = ((obj as { metadata: { labels?: Record<string, string> | null } }).metadata.labels ?? {}) as Record<string, string>;
  for (const key of [SERVICE_NAME_LABEL, ZONE_LABEL]) {
    const value = labels[key];
    if (value !== undefined && !isLabelValue(value)) {
      problems.push(problemAt(src, `metadata.labels["${key}"]`, 'must be a valid label value', value));
    }
  }
  if (kind === 'EndpointSlice') {
    const slice = obj as EndpointSliceObject;
    (slice.endpoints ?? []).forEach((ep, i) => {
      ep.addresses.forEach((addr, j) => {
        const field = `endpoints[${i}].addresses[${j}]`;
        if (slice.addressType === 'FQDN') {
          if (!isDns1123Subdomain(addr)) problems.push(problemAt(src, field, 'must be a DNS-1123 subdomain (addressType FQDN)', addr));
          return;
        }
        const family = ipFamily(addr);
        const want = slice.addressType === 'IPv4' ? 'ipv4' : 'ipv6';
        if (!family) problems.push(problemAt(src, field, `must be a valid ${slice.addressType} address`, addr));
        else if (family !== want)
          problems.push(problemAt(src, field, `must be an ${slice.addressType} address (addressType is ${slice.addressType})`, addr));
      });
    });
  }
  if (kind === 'Service') {
    const svc = obj as ServiceObject;
    const ports = svc.spec.ports ?? [];
    const seen = new Map<string, number>();
    ports.forEach((p, i) => {
      const key = `${p.name ?? ''}`;
      if (seen.has(key))
        problems.push(problemAt(src, `spec.ports[${i}].name`, `duplicate port name (also spec.ports[${seen.get(key)}])`, p.name ?? ''));
      seen.set(key, i);
      if (ports.length > 1 && !p.name)
        problems.push(problemAt(src, `spec.ports[${i}].name`, 'must be set when a Service has more than one port', p.name ?? ''));
    });
    for (const p of clusterIPProblems(svc.spec)) problems.push(problemAt(src, p.field, p.message, p.value));
    if (svc.spec.type !== 'ExternalName' && svc.spec.clusterIP !== 'None' && ports.length === 0 && svc.spec.clusterIP) {
      // The API server requires ports for every non-headless Service; kube-proxy would just see none.
      problems.push(problemAt(src, 'spec.ports', 'must list at least one port'));
    }
  }
}

/**
 * The same object given twice (a file listed twice, a directory and a file in it) is kept
 * once; two different objects with one name would make the output depend on reading order,
 * so that is an error naming both places.
 */
function dedupe(inv: Inventory, problems: Problem[]): void {
  const pass = <T extends { metadata: { name: string; namespace?: unknown } }>(kind: string, list: Located<T>[]): Located<T>[] => {
    const seen = new Map<string, Located<T>>();
    const out: Located<T>[] = [];
    for (const item of list) {
      const ns =
        typeof item.object.metadata.namespace === 'string' && item.object.metadata.namespace ? item.object.metadata.namespace : 'default';
      const key = kind === 'Node' ? item.object.metadata.name : `${ns}/${item.object.metadata.name}`;
      const first = seen.get(key);
      if (!first) {
        seen.set(key, item);
        out.push(item);
      } else if (JSON.stringify(first.object) === JSON.stringify(item.object)) {
        inv.notes.push(`${kind} ${key} appears twice (${first.where}; ${item.where}): identical, used once`);
      } else {
        const [file, rest] = [item.where.split(' document ')[0]!, item.where];
        problems.push({
          file,
          object: `${kind} ${key}`,
          message: `is defined twice with different content (${first.where}; ${rest}); give each object once`,
        });
      }
    }
    return out;
  };
  inv.services = pass('Service', inv.services);
  inv.slices = pass('EndpointSlice', inv.slices);
  inv.endpoints = pass('Endpoints', inv.endpoints);
  inv.nodes = pass('Node', inv.nodes);
}

/**
 * Reads and validates every object in PATHS. Problems from all files are gathered and thrown
 * together as one InputError, so a user sees every mistake in one run.
 */
export interface LoadOptions {
  /** An input without a single object is a mistake (a failed `kubectl ... |`) unless this says an empty cluster is meant. */
  allowEmpty?: boolean;
}

export function loadInventory(paths: string[], io: InputHost | (() => string), options: LoadOptions = {}): Inventory {
  // Objects are checked as they are read. What reading finds (problems, notes) is kept apart
  // from what checking finds and goes first, in the order a read of everything, then a check
  // of everything, would give.
  const readProblems: Problem[] = [];
  const readNotes: string[] = [];
  const problems: Problem[] = [];
  const inv: Inventory = { services: [], slices: [], endpoints: [], nodes: [], notes: [] };
  let objects = 0;
  readSources(paths, io, readProblems, readNotes, (src) => {
    objects++;
    checkObject(src, inv, problems);
  });
  if (objects === 0 && readProblems.length === 0 && !options.allowEmpty) {
    const file = paths.length === 1 ? (paths[0] === '-' ? '<stdin>' : paths[0]!) : paths.join(', ');
    throw new InputError([{ file, message: 'no Kubernetes objects in the input (give --allow-empty if an empty cluster is meant)' }]);
  }
  inv.notes = readNotes.concat(inv.notes);
  finish(inv, readProblems.concat(problems));
  return inv;
}

/** Validates one object read and files it in INV (or says why not, in PROBLEMS or INV's notes). */
function checkObject(src: SourceObject, inv: Inventory, problems: Problem[]): void {
  const kind = src.value['kind'];
  const apiVersion = src.value['apiVersion'];
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
    problems.push(
      problemAt(
        src,
        typeof kind !== 'string' ? 'kind' : 'apiVersion',
        'is required on every Kubernetes object',
        typeof kind !== 'string' ? kind : apiVersion,
      ),
    );
    return;
  }
  const wanted = Object.hasOwn(API_VERSIONS, kind) ? API_VERSIONS[kind] : undefined;
  if (
    !wanted ||
    (kind !== 'EndpointSlice' && apiVersion !== wanted) ||
    (kind === 'EndpointSlice' && !apiVersion.startsWith('discovery.k8s.io/'))
  ) {
    inv.notes.push(`skipped ${apiVersion} ${describe(src)} (${whereText(src)}): not a kind kube-proxy reads`);
    return;
  }
  // v1beta1 EndpointSlices (clusters up to 1.24) are read as the API server converts them.
  const value = kind === 'EndpointSlice' && apiVersion === V1BETA1 ? endpointSliceV1(src.value) : src.value;
  if (value !== src.value)
    inv.notes.push(
      `read ${V1BETA1} ${describe(src)} (${whereText(src)}) as discovery.k8s.io/v1 (topology zone to zone, as the API server converts it)`,
    );
  // The hand-written checks accept valid objects quickly; zod says what is wrong with the rest.
  const fast = fastParse(kind, value);
  const parsed = fast !== undefined ? { success: true as const, data: fast } : schemaOf(kind).safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const value = valueAt(src.value, issue.path);
      problems.push(problemAt(src, pathText(issue.path), issueMessage(issue as never, value), value));
    }
    return;
  }
  const before = problems.length;
  crossChecks(src, kind, parsed.data, problems);
  if (problems.length > before) return;
  const labels = ((parsed.data as { metadata: { labels?: Record<string, string> | null } }).metadata.labels ?? {}) as Record<
    string,
    string
  >;
  if (
    (kind === 'Service' || kind === 'EndpointSlice' || kind === 'Endpoints') &&
    (PROXY_NAME_LABEL in labels || HEADLESS_LABEL in labels)
  ) {
    const label = PROXY_NAME_LABEL in labels ? PROXY_NAME_LABEL : HEADLESS_LABEL;
    inv.notes.push(`skipped ${describe(src)} (${whereText(src)}): label ${label} hides it from kube-proxy`);
    return;
  }
  const located = { where: whereText(src), object: parsed.data };
  if (kind === 'Service') inv.services.push(located as Located<ServiceObject>);
  else if (kind === 'EndpointSlice') inv.slices.push(located as Located<EndpointSliceObject>);
  else if (kind === 'Endpoints') inv.endpoints.push(located as Located<EndpointsObject>);
  else inv.nodes.push(located as Located<NodeObject>);
}

/** What needs every object: duplicates, slices without their Service; then the problems, if any. */
function finish(inv: Inventory, problems: Problem[]): void {
  dedupe(inv, problems);
  // kube-proxy keeps such slices but programs nothing for them until their Service appears.
  const services = new Set(inv.services.map((s) => `${s.object.metadata.namespace ?? 'default'}/${s.object.metadata.name}`));
  for (const s of inv.slices) {
    const svc = (s.object.metadata.labels ?? {})[SERVICE_NAME_LABEL];
    const key = `${s.object.metadata.namespace ?? 'default'}/${svc}`;
    if (svc && !services.has(key))
      inv.notes.push(
        `EndpointSlice ${s.object.metadata.namespace ?? 'default'}/${s.object.metadata.name} (${s.where}): its Service ${key} is not in the input: no rules for it`,
      );
  }
  if (problems.length > 0) {
    // Report in reading order: by file as given, then document, whatever stage found them.
    const files = [...new Set(problems.map((p) => p.file))];
    const ordered = problems
      .map((p, i) => ({ p, i }))
      .sort((a, b) => files.indexOf(a.p.file) - files.indexOf(b.p.file) || (a.p.document ?? 0) - (b.p.document ?? 0) || a.i - b.i)
      .map((x) => x.p);
    throw new InputError(ordered);
  }
}
