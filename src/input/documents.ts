import yaml from 'js-yaml';
import type { Problem } from '../errors.js';

/** One Kubernetes object as found in the input, with where it came from. */
export interface SourceObject {
  file: string;
  document: number; // 1-based
  line: number; // 1-based line where the document starts
  listIndex?: number; // index inside a `kind: List`
  value: Record<string, unknown>;
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
  // CRLF text goes through the line-array path, which drops the CRs as it joins.
  if (text.includes('\r')) return splitYamlLines(text);
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
    if ((c === 45 || c === 46) && isSeparator(text.slice(pos, end))) {
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
  const flush = () => {
    if (current.some((l) => l.trim() !== '' && !l.trimStart().startsWith('#')) || !sawSeparator) {
      docs.push({ document: docs.length + 1, line: start + 1, text: current.join('\n') });
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
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

/** `kind: List` (and `ServiceList`, ...) as kubectl prints them: expand their items. */
function expand(file: string, doc: RawDocument, value: unknown, problems: Problem[]): SourceObject[] {
  if (value === null || value === undefined) return [];
  if (!isRecord(value)) {
    problems.push({
      file,
      document: doc.document,
      line: doc.line,
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
          line: doc.line,
          field: `items[${listIndex}]`,
          message: 'expected a Kubernetes object (a mapping with apiVersion and kind)',
          value: item,
        });
        return;
      }
      // kubectl omits apiVersion/kind on items of typed lists (ServiceList): derive them.
      const itemKind = item['kind'] ?? (kind !== 'List' ? kind.slice(0, -4) : undefined);
      const itemApi = item['apiVersion'] ?? (kind !== 'List' ? value['apiVersion'] : undefined);
      out.push({ file, document: doc.document, line: doc.line, listIndex, value: { ...item, kind: itemKind, apiVersion: itemApi } });
    });
    return out;
  }
  return [{ file, document: doc.document, line: doc.line, value }];
}

/** Parses one file's text (YAML stream or JSON) into objects; syntax errors become problems. */
export function parseDocuments(file: string, text: string, problems: Problem[]): SourceObject[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(text);
      const doc = { document: 1, line: 1, text };
      if (Array.isArray(value)) return value.flatMap((v) => expand(file, doc, v, problems));
      return expand(file, doc, value, problems);
    } catch {
      // Not JSON after all (YAML flow style is a superset): fall through to YAML.
    }
  }
  const out: SourceObject[] = [];
  for (const doc of splitYamlDocuments(text)) {
    let value: unknown;
    try {
      value = yaml.load(doc.text, { filename: file, schema: yaml.CORE_SCHEMA });
    } catch (e) {
      const err = e as { reason?: string; mark?: { line: number } };
      problems.push({
        file,
        document: doc.document,
        line: doc.line + (err.mark?.line ?? 0),
        message: `YAML syntax error: ${err.reason ?? String(e)}`,
      });
      continue;
    }
    for (const o of expand(file, doc, value, problems)) out.push(o);
  }
  return out;
}
