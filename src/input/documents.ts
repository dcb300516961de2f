import yaml from 'js-yaml';
import type { Problem } from '../errors.js';
import { LIMITS } from './limits.js';
import { locate } from './positions.js';
import { isPrintableAscii, readPlainYaml } from './yaml-plain.js';

/** One Kubernetes object as found in the input, with where it came from. */
export interface SourceObject {
  file: string;
  document: number; // 1-based
  line: number; // 1-based line where the document starts
  listIndex?: number; // index inside a `kind: List`
  value: Record<string, unknown>;
  text?: string; // the document's source text, to locate fields on the error path
  path?: (string | number)[]; // where the object sits in that text (a List item, a JSON array element)
}

interface RawDocument {
  document: number;
  line: number;
  text: string;
}

// Split a YAML stream at `---` lines ourselves, so every document keeps its starting line
// number for error messages (js-yaml's loadAll does not report positions). Large inputs are
// cut by offsets, line by line, without splitting the whole text into line strings first.
function splitYamlDocuments(text: string): RawDocument[] {
  // CRLF text goes through the line-array path, which drops the CRs as it joins; so does text
  // with directives (%YAML 1.2), which that path keeps with the document their `---` opens.
  if (text.includes('\r') || /^%/m.test(text)) return splitYamlLines(text);
  const docs: RawDocument[] = [];
  let sawSeparator = false;
  let inline: string | undefined; // content after `--- ` on the separator line itself
  let docLine = 0; // 0-based line the document starts at
  let bodyStart = 0; // offset of the first line after the separator
  let bodyLines = 0;
  const flush = (bodyEnd: number) => {
    if (inline === undefined && bodyLines === 0) return;
    const body = bodyLines > 0 ? text.slice(bodyStart, bodyEnd) : '';
    const doc = inline === undefined ? body : bodyLines > 0 ? `${inline}\n${body}` : inline;
    if (inline !== undefined || !sawSeparator || CONTENT.test(body)) docs.push({ document: docs.length + 1, line: docLine + 1, text: doc });
  };
  let pos = 0;
  for (let lineNo = 0; ; lineNo++) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    const c = text.charCodeAt(pos);
    // Only `---` and `...` can start a separator: other lines are not cut out to be tested.
    if ((c === 45 || c === 46) && text.charCodeAt(pos + 1) === c && text.charCodeAt(pos + 2) === c && isSeparator(text.slice(pos, end))) {
      flush(pos - 1);
      sawSeparator = true;
      const l = text.slice(pos, end);
      const rest = l.slice(3).trim();
      inline = l.startsWith('---') && rest !== '' && !rest.startsWith('#') ? rest : undefined;
      docLine = inline === undefined ? lineNo + 1 : lineNo;
      bodyStart = end + 1;
      bodyLines = 0;
    } else bodyLines++;
    if (nl < 0) break;
    pos = nl + 1;
  }
  flush(text.length);
  return docs;
}

// A line that is neither blank nor a comment, anywhere in the text.
const CONTENT = /^\s*[^\s#]/m;

const isSeparator = (l: string) => /^---(\s|$)/.test(l) || /^\.\.\.\s*$/.test(l);

// The same split over an array of lines (any line ending).
function splitYamlLines(text: string): RawDocument[] {
  const lines = text.split(/\r?\n/);
  const docs: RawDocument[] = [];
  let start = 0;
  let current: string[] = [];
  let sawSeparator = false;
  let directives = false; // directive lines seen, their `---` not yet
  const isBlank = (l: string) => l.trim() === '' || l.trimStart().startsWith('#');
  const flush = () => {
    if (current.some((l) => !isBlank(l)) || !sawSeparator) {
      docs.push({ document: docs.length + 1, line: start + 1, text: current.join('\n') });
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    // Directives (%YAML 1.2, %TAG) belong to the document their `---` opens: keep them with it.
    if (l.startsWith('%') && current.every((c) => isBlank(c) || c.startsWith('%'))) {
      if (!current.some((c) => c.startsWith('%'))) {
        if (current.length > 0 && sawSeparator) flush();
        current = [];
        start = i;
      }
      current.push(l);
      directives = true;
      continue;
    }
    if (directives && /^---(\s|$)/.test(l)) {
      current.push(l);
      directives = false;
      continue;
    }
    if (/^---(\s|$)/.test(l) || /^\.\.\.\s*$/.test(l)) {
      if (current.length > 0) flush();
      sawSeparator = true;
      current = [];
      const rest = l.slice(3).trim();
      start = i;
      if (l.startsWith('---') && rest !== '' && !rest.startsWith('#')) current.push(rest);
      else start = i + 1;
      continue;
    }
    current.push(l);
  }
  if (current.length > 0) flush();
  // Renumber: documents are counted as a reader would, skipping empty ones.
  return docs.map((d, i) => ({ ...d, document: i + 1 }));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a parsed document against the limits: nesting depth, and its size once aliases are
 * expanded (js-yaml shares aliased nodes, so a "billion laughs" loads quickly but would explode
 * in everything that walks it afterwards). Counting stops at the budget: cost is bounded.
 */
function shapeProblem(value: unknown, textLength: number): string | undefined {
  const budget = Math.max(LIMITS.expansionFloor, textLength * LIMITS.expansionPerByte);
  let nodes = 0;
  const walk = (v: unknown, depth: number): string | undefined => {
    if (++nodes > budget)
      return `holds more than ${budget} values once its aliases are expanded (limit: ${LIMITS.expansionPerByte} per byte of the document); aliases that repeat a large node many times are refused`;
    if (typeof v !== 'object' || v === null) return undefined;
    if (depth >= LIMITS.depth) return `is nested deeper than ${LIMITS.depth} levels (the limit)`;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      const why = walk(child, depth + 1);
      if (why) return why;
    }
    return undefined;
  };
  return walk(value, 0);
}

/** Nesting depth of JSON text, counted without parsing (JSON.parse and what follows recurse). */
function jsonTooDeep(text: string): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > LIMITS.depth) return i;
    } else if (c === 93 || c === 125) depth--;
  }
  return undefined;
}

function lineOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** `kind: List` (and `ServiceList`, ...) as kubectl prints them: expand their items. */
function expand(file: string, doc: RawDocument, value: unknown, problems: Problem[], base: (string | number)[] = []): SourceObject[] {
  if (value === null || value === undefined) return [];
  const at = (path: (string | number)[]) => {
    const pos = locate(doc.text, path);
    return pos ? { line: doc.line + pos.line - 1, column: pos.column } : { line: doc.line };
  };
  if (!isRecord(value)) {
    problems.push({
      file,
      document: doc.document,
      ...at(base),
      message: 'expected a Kubernetes object (a mapping with apiVersion and kind)',
      value,
    });
    return [];
  }
  const kind = value['kind'];
  if (typeof kind === 'string' && /List$/.test(kind) && Array.isArray(value['items'])) {
    const out: SourceObject[] = [];
    (value['items'] as unknown[]).forEach((item, listIndex) => {
      if (!isRecord(item)) {
        problems.push({
          file,
          document: doc.document,
          ...at([...base, 'items', listIndex]),
          field: `items[${listIndex}]`,
          message: 'expected a Kubernetes object (a mapping with apiVersion and kind)',
          value: item,
        });
        return;
      }
      // kubectl omits apiVersion/kind on items of typed lists (ServiceList): derive them.
      // An item that names both is taken as it is: the copy would hold the same keys in the
      // same order, and nothing changes the objects read.
      const derive = item['kind'] === undefined || item['kind'] === null || item['apiVersion'] === undefined || item['apiVersion'] === null;
      const itemKind = item['kind'] ?? (kind !== 'List' ? kind.slice(0, -4) : undefined);
      const itemApi = item['apiVersion'] ?? (kind !== 'List' ? value['apiVersion'] : undefined);
      out.push({
        file,
        document: doc.document,
        line: doc.line,
        listIndex,
        value: derive ? { ...item, kind: itemKind, apiVersion: itemApi } : item,
        text: doc.text,
        path: [...base, 'items', listIndex],
      });
    });
    return out;
  }
  return [{ file, document: doc.document, line: doc.line, value, text: doc.text, path: base }];
}

/** Parses one file's text (YAML stream or JSON) into objects; syntax errors become problems. */
export function parseDocuments(file: string, text: string, problems: Problem[]): SourceObject[] {
  const out: SourceObject[] = [];
  eachDocumentObject(file, text, problems, (o) => out.push(o));
  return out;
}

/**
 * The objects of one file's text, handed to SINK as each document is read: a document's
 * objects can be checked and dropped before the next is read, so the raw trees of a large
 * input never pile up (they would be copied by every garbage collection meanwhile).
 */
export function eachDocumentObject(file: string, text: string, problems: Problem[], sink: (o: SourceObject) => void): void {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const deep = jsonTooDeep(text);
    if (deep !== undefined) {
      problems.push({ file, document: 1, ...lineOf(text, deep), message: `is nested deeper than ${LIMITS.depth} levels (the limit)` });
      return;
    }
    let value: unknown;
    let isJSON = true;
    try {
      value = JSON.parse(text);
    } catch {
      isJSON = false; // Not JSON after all (YAML flow style is a superset): fall through to YAML.
    }
    if (isJSON) {
      // No walk over the parsed tree for the limits: the scan above kept the nesting within
      // LIMITS.depth, and JSON has no aliases, so every value takes at least one character of
      // the text: far fewer than the expansion budget of LIMITS.expansionPerByte per byte.
      const doc = { document: 1, line: 1, text };
      // Every array element is expanded (its problems found) before any object goes on.
      const objects = Array.isArray(value)
        ? value.flatMap((v, i) => expand(file, doc, v, problems, [i]))
        : expand(file, doc, value, problems);
      for (const o of objects) sink(o);
      return;
    }
  }
  const printable = isPrintableAscii(text); // for the whole text at once, not per document
  for (const doc of splitYamlDocuments(text)) {
    // Plain documents are read without js-yaml. Such a document has no aliases and is nested
    // less deeply than the limit, and each of its values takes a character of its own: within
    // the limits by construction, so it is not walked for them either.
    const plain = readPlainYaml(doc.text, printable);
    if (plain) {
      for (const o of expand(file, doc, plain.value, problems)) sink(o);
      continue;
    }
    let value: unknown;
    try {
      value = yaml.load(doc.text, { filename: file, schema: yaml.CORE_SCHEMA, maxDepth: LIMITS.depth } as yaml.LoadOptions);
    } catch (e) {
      const err = e as { reason?: string; mark?: { line: number; column: number } };
      const reason = err.reason ?? (e instanceof RangeError ? `nested too deeply (limit ${LIMITS.depth} levels)` : String(e));
      problems.push({
        file,
        document: doc.document,
        line: doc.line + (err.mark?.line ?? 0),
        ...(err.mark ? { column: err.mark.column + 1 } : {}),
        message: /maxDepth/.test(reason) ? `is nested deeper than ${LIMITS.depth} levels (the limit)` : `YAML syntax error: ${reason}`,
      });
      continue;
    }
    const why = shapeProblem(value, doc.text.length);
    if (why) {
      problems.push({ file, document: doc.document, line: doc.line, message: `the document ${why}` });
      continue;
    }
    for (const o of expand(file, doc, value, problems)) sink(o);
  }
}
