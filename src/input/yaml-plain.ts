// A reader for the plain YAML kubectl and most tools write: block mappings and sequences,
// one-line flow collections, plain and simple quoted scalars, literal block scalars (`|`, `|-`),
// full-line and trailing comments.
// It exists for speed: js-yaml builds state snapshots and anchor bookkeeping for every node,
// which on a 10,000-Service cluster costs more than everything else the input stage does.
// It returns what js-yaml (CORE schema) returns for the same document, or gives up on
// anything else (anchors, aliases, tags, folded scalars, escapes, multi-line scalars, tabs,
// non-ASCII text, duplicate keys, unusual indentation ...): then js-yaml reads the document,
// so every value, error message and limit stays js-yaml's.
import yaml from 'js-yaml';

class GiveUp extends Error {}
const GIVE_UP = new GiveUp('not plain YAML');

function giveUp(): never {
  throw GIVE_UP;
}

// CORE_SCHEMA's own implicit types (null, bool, int, float), in its order: plain scalars
// resolve exactly as js-yaml resolves them. Should a js-yaml release keep them elsewhere, this
// reader steps aside and js-yaml reads every document.
const IMPLICIT: readonly yaml.Type[] | undefined = (() => {
  const types = (yaml.CORE_SCHEMA as unknown as { compiledImplicit?: unknown }).compiledImplicit;
  return Array.isArray(types) && types.every((t) => t instanceof yaml.Type) ? (types as yaml.Type[]) : undefined;
})();

/** Nesting the reader follows; deeper documents go to js-yaml, which applies the depth limit. */
const MAX_DEPTH = 40;

const SPACE = 32;
const HASH = 35;
const DQUOTE = 34;
const SQUOTE = 39;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const COLON = 58;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;
const PIPE = 124;

// Anything but printable ASCII and LF: tabs, CR, control and non-ASCII characters are js-yaml's.
const UNUSUAL = /[^\n\x20-\x7e]/;

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

// The first character of a plain scalar the reader takes: letters, digits and `_ / ~ +`;
// `-` and `.` only before a letter or digit (not `- `, `--`, `...`, `.:`).
function plainStart(text: string, p: number): boolean {
  const c = text.charCodeAt(p);
  if (isAlnum(c) || c === 95 || c === 47 || c === 126 || c === 43) return true;
  return (c === DASH || c === DOT) && isAlnum(text.charCodeAt(p + 1));
}

// Only scalars starting with these can resolve to null, a boolean or a number.
function mayResolve(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    c === 43 ||
    c === DASH ||
    c === DOT ||
    c === 126 ||
    c === 110 ||
    c === 78 ||
    c === 116 ||
    c === 84 ||
    c === 102 ||
    c === 70
  );
}

function resolvePlain(s: string): unknown {
  if (!mayResolve(s.charCodeAt(0))) return s;
  for (const type of IMPLICIT!) if (type.resolve(s)) return type.construct(s);
  return s;
}

/** A mapping key: a string, as js-yaml stores it; keys that resolve to other types are js-yaml's. */
function plainKey(s: string): string {
  if (mayResolve(s.charCodeAt(0))) for (const type of IMPLICIT!) if (type.resolve(s)) giveUp();
  return s;
}

/**
 * Where the character C is in TEXT from FROM, before END (the line's end), or -1. Searches
 * stay within the line: indexOf would run on through a large document for every scalar.
 */
function find(text: string, c: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (text.charCodeAt(i) === c) return i;
  return -1;
}

function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  // js-yaml refuses duplicate keys (an error it words) and defines __proto__ specially.
  if (key === '__proto__' || Object.hasOwn(out, key)) giveUp();
  out[key] = value;
}

class Reader {
  // The current content line (neither blank nor a comment): where its text starts and ends,
  // and its indent. Lines are found one by one as the reader gets to them.
  private start = 0;
  private lineEnd = 0;
  private lineIndent = 0;
  private done = false; // no content line left
  private end = 0; // offset past the last quoted scalar or flow collection read

  constructor(private readonly text: string) {
    this.seek(0);
  }

  /** On to the first content line starting at offset POS or later. */
  private seek(pos: number): void {
    const { text } = this;
    while (pos <= text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      let p = pos;
      while (p < nl && text.charCodeAt(p) === SPACE) p++;
      if (p < nl && text.charCodeAt(p) !== HASH) {
        this.start = p;
        this.lineEnd = nl;
        this.lineIndent = p - pos;
        return;
      }
      pos = nl + 1;
    }
    this.done = true;
  }

  private next(): void {
    this.seek(this.lineEnd + 1);
  }

  document(): unknown {
    if (this.done || this.lineIndent !== 0 || this.isItem()) giveUp();
    const value = this.mapping(0, this.start, 1);
    if (!this.done) giveUp();
    return value;
  }

  /** `-` followed by a space or the line's end starts the current line: a sequence item. */
  private isItem(): boolean {
    const p = this.start;
    if (this.text.charCodeAt(p) !== DASH) return false;
    return p + 1 === this.lineEnd || this.text.charCodeAt(p + 1) === SPACE;
  }

  /** The block node starting on the current line, at indent INDENT. */
  private block(indent: number, depth: number): unknown {
    if (depth > MAX_DEPTH) giveUp();
    if (this.isItem()) return this.sequence(indent, depth);
    return this.mapping(indent, this.start, depth);
  }

  /** A block mapping at column INDENT whose first key starts at offset FIRST of the current line. */
  private mapping(indent: number, first: number, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) giveUp();
    const { text } = this;
    const out: Record<string, unknown> = {};
    let p = first;
    for (;;) {
      const end = this.lineEnd;
      let key: string;
      let q: number; // just past the `:`
      const c = text.charCodeAt(p);
      if (c === DQUOTE || c === SQUOTE) {
        key = this.quoted(p, end);
        q = this.end;
        if (text.charCodeAt(q) !== COLON) giveUp();
        q++;
      } else {
        if (!plainStart(text, p)) giveUp();
        q = p;
        for (;;) {
          q = find(text, COLON, q, end);
          if (q < 0) giveUp();
          const next = text.charCodeAt(q + 1);
          if (q + 1 === end || next === SPACE) break;
          q++;
        }
        const k = text.slice(p, q);
        // A space before the `:` or a comment inside the key: js-yaml's.
        if (text.charCodeAt(q - 1) === SPACE || k.includes(' #')) giveUp();
        key = plainKey(k);
        q++;
      }
      if (q < end && text.charCodeAt(q) !== SPACE) giveUp();
      while (q < end && text.charCodeAt(q) === SPACE) q++;
      let value: unknown;
      if (q === end || text.charCodeAt(q) === HASH) {
        // The value is on the lines below: more indented, or a sequence at this indent.
        this.next();
        if (!this.done && this.lineIndent > indent) value = this.block(this.lineIndent, depth + 1);
        else if (!this.done && this.lineIndent === indent && this.isItem()) value = this.sequence(indent, depth + 1);
        else value = null;
      } else if (text.charCodeAt(q) === PIPE) value = this.literal(q, end, indent);
      else {
        value = this.inline(q, end, depth + 1);
        this.next();
      }
      setKey(out, key, value);
      if (this.done || this.lineIndent < indent) return out;
      if (this.lineIndent > indent || this.isItem()) giveUp();
      p = this.start;
    }
  }

  /** A block sequence at column INDENT starting on the current line. */
  private sequence(indent: number, depth: number): unknown[] {
    if (depth > MAX_DEPTH) giveUp();
    const { text } = this;
    const out: unknown[] = [];
    for (;;) {
      const p = this.start + 1;
      const end = this.lineEnd;
      if (p === end || text.charCodeAt(p + 1) === HASH) {
        // An empty item, or its value on the lines below.
        if (p + 1 < end && text.charCodeAt(p + 1) === HASH) giveUp();
        this.next();
        out.push(!this.done && this.lineIndent > indent ? this.block(this.lineIndent, depth + 1) : null);
      } else {
        const q = p + 1; // exactly one space after the dash
        if (text.charCodeAt(q) === SPACE) giveUp();
        if (this.startsMapping(q, end)) out.push(this.mapping(q - (this.start - indent), q, depth + 1));
        else {
          out.push(this.inline(q, end, depth + 1));
          this.next();
        }
      }
      if (this.done || this.lineIndent < indent) return out;
      if (this.lineIndent > indent) giveUp();
      if (!this.isItem()) return out; // the parent mapping's next key
    }
  }

  /**
   * A literal block scalar (`|` or `|-` closing the line at P..END) of a key at column INDENT:
   * kubectl writes long annotations so. The lines below, more indented than the key, with the
   * first one's indent removed; one final newline (`|`) or none (`|-`). Other headers, blank
   * lines that hold spaces, leading blank lines and trailing spaces are js-yaml's.
   */
  private literal(p: number, end: number, indent: number): string {
    const { text } = this;
    const strip = end === p + 2 && text.charCodeAt(p + 1) === DASH;
    if (end !== p + 1 && !strip) giveUp();
    let out = '';
    let read = false;
    let empty = 0; // empty lines since the last content line
    let textIndent = -1;
    let pos = end + 1;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      if (nl === pos) {
        if (!read) giveUp();
        empty++;
        pos = nl + 1;
        continue;
      }
      let q = pos;
      while (q < nl && text.charCodeAt(q) === SPACE) q++;
      if (q === nl || text.charCodeAt(nl - 1) === SPACE) giveUp();
      if (textIndent < 0) {
        if (q - pos <= indent) giveUp();
        textIndent = q - pos;
      }
      if (q - pos < textIndent) break; // a line less indented ends the scalar
      if (read) out += '\n'.repeat(1 + empty);
      out += text.slice(pos + textIndent, nl);
      read = true;
      empty = 0;
      pos = nl + 1;
    }
    if (!read) giveUp();
    // On to the first content line after the scalar (its own lines may look like comments).
    this.seek(pos);
    return strip ? out : `${out}\n`;
  }

  /** Whether the item text at P (to END) is a `key: value` pair: a compact mapping. */
  private startsMapping(p: number, end: number): boolean {
    const { text } = this;
    const c = text.charCodeAt(p);
    if (c === LBRACKET || c === LBRACE) return false;
    if (c === DQUOTE || c === SQUOTE) {
      this.quoted(p, end);
      return text.charCodeAt(this.end) === COLON;
    }
    for (let q = find(text, COLON, p, end); q >= 0; q = find(text, COLON, q + 1, end)) {
      if (q + 1 === end || text.charCodeAt(q + 1) === SPACE) return true;
    }
    return false;
  }

  /** A value that ends on its line: a flow collection, a quoted or a plain scalar. */
  private inline(p: number, end: number, depth: number): unknown {
    const { text } = this;
    const c = text.charCodeAt(p);
    let value: unknown;
    if (c === LBRACKET || c === LBRACE) value = this.flow(p, end, depth);
    else if (c === DQUOTE || c === SQUOTE) value = this.quoted(p, end);
    else {
      if (!plainStart(text, p)) giveUp();
      // Up to a comment (` #`) or the line's end; a `: ` or a final `:` would make it a key.
      let stop = end;
      for (let h = find(text, HASH, p, end); h >= 0; h = find(text, HASH, h + 1, end)) {
        if (text.charCodeAt(h - 1) === SPACE) {
          stop = h - 1;
          break;
        }
      }
      for (let k = find(text, COLON, p, stop); k >= 0; k = find(text, COLON, k + 1, stop)) {
        if (k + 1 === end || text.charCodeAt(k + 1) === SPACE) giveUp();
      }
      while (text.charCodeAt(stop - 1) === SPACE) stop--;
      return resolvePlain(text.slice(p, stop));
    }
    // After a collection or a quoted scalar: spaces, then the line's end or a comment.
    const after = this.end;
    let q = after;
    while (q < end && text.charCodeAt(q) === SPACE) q++;
    if (q < end && (text.charCodeAt(q) !== HASH || q === after)) giveUp();
    return value;
  }

  /** A quoted scalar closed on its line, without escapes (this.end: the offset past it). */
  private quoted(p: number, end: number): string {
    const { text } = this;
    const quote = text.charCodeAt(p);
    if (quote === DQUOTE) {
      const close = find(text, DQUOTE, p + 1, end);
      if (close < 0) giveUp();
      const value = text.slice(p + 1, close);
      if (value.includes('\\')) giveUp();
      this.end = close + 1;
      return value;
    }
    let value = '';
    let from = p + 1;
    for (;;) {
      const close = find(text, SQUOTE, from, end);
      if (close < 0) giveUp();
      if (text.charCodeAt(close + 1) === SQUOTE) {
        value += text.slice(from, close + 1);
        from = close + 2;
        continue;
      }
      this.end = close + 1;
      return value + text.slice(from, close);
    }
  }

  /** A flow sequence or mapping closed on its line (this.end: the offset past it). */
  private flow(p: number, end: number, depth: number): unknown {
    if (depth > MAX_DEPTH) giveUp();
    const { text } = this;
    const isMap = text.charCodeAt(p) === LBRACE;
    const close = isMap ? RBRACE : RBRACKET;
    const out: Record<string, unknown> | unknown[] = isMap ? {} : [];
    let q = this.skipSpaces(p + 1, end);
    if (text.charCodeAt(q) === close) {
      this.end = q + 1;
      return out;
    }
    for (;;) {
      if (isMap) {
        let key: string;
        if (text.charCodeAt(q) === DQUOTE || text.charCodeAt(q) === SQUOTE) {
          key = this.quoted(q, end);
          q = this.end;
        } else {
          const k = this.flowPlain(q, end, true);
          key = plainKey(text.slice(q, k));
          q = k;
        }
        if (text.charCodeAt(q) !== COLON || text.charCodeAt(q + 1) !== SPACE) giveUp();
        q = this.skipSpaces(q + 2, end);
        setKey(out as Record<string, unknown>, key, this.flowNode(q, end, depth + 1));
      } else (out as unknown[]).push(this.flowNode(q, end, depth + 1));
      q = this.end;
      q = this.skipSpaces(q, end);
      const c = text.charCodeAt(q);
      if (q < end && c === close) {
        this.end = q + 1;
        return out;
      }
      if (q >= end || c !== COMMA) giveUp();
      q = this.skipSpaces(q + 1, end);
      if (text.charCodeAt(q) === close) giveUp(); // a trailing comma: js-yaml's
    }
  }

  private flowNode(p: number, end: number, depth: number): unknown {
    const { text } = this;
    const c = text.charCodeAt(p);
    if (c === LBRACKET || c === LBRACE) return this.flow(p, end, depth);
    if (c === DQUOTE || c === SQUOTE) return this.quoted(p, end);
    const q = this.flowPlain(p, end, false);
    this.end = q;
    let stop = q;
    while (text.charCodeAt(stop - 1) === SPACE) stop--;
    return resolvePlain(text.slice(p, stop));
  }

  /**
   * The end of a plain scalar in a flow collection: before `,`, `]` or `}` (a value) or `:`
   * (a key). Colons in keys, brackets, quotes and `#` inside are js-yaml's.
   */
  private flowPlain(p: number, end: number, key: boolean): number {
    const { text } = this;
    if (!plainStart(text, p)) giveUp();
    let q = p;
    for (; q < end; q++) {
      const c = text.charCodeAt(q);
      if (c === COMMA || c === RBRACKET || c === RBRACE) {
        if (key) giveUp();
        return q;
      }
      if (c === COLON) {
        if (key) {
          if (text.charCodeAt(q - 1) === SPACE) giveUp();
          return q;
        }
        // Inside a value (an IPv6 address) a colon is text, as in js-yaml, unless a space,
        // the line's end or a flow indicator follows: then it would start a pair.
        const next = text.charCodeAt(q + 1);
        if (
          q + 1 >= end ||
          next === SPACE ||
          next === COMMA ||
          next === LBRACKET ||
          next === RBRACKET ||
          next === LBRACE ||
          next === RBRACE
        )
          giveUp();
        continue;
      }
      if (c === LBRACKET || c === LBRACE || c === HASH || c === DQUOTE || c === SQUOTE || c === BACKSLASH) giveUp();
    }
    return giveUp();
  }

  private skipSpaces(p: number, end: number): number {
    while (p < end && this.text.charCodeAt(p) === SPACE) p++;
    return p;
  }
}

/** Whether TEXT holds nothing but printable ASCII and LF, the only characters this reader takes. */
export function isPrintableAscii(text: string): boolean {
  return !UNUSUAL.test(text);
}

/**
 * TEXT (one YAML document) as js-yaml reads it with the CORE schema, or undefined when the
 * document is not plain enough for this reader: then js-yaml must read it. PRINTABLE says
 * isPrintableAscii(TEXT) is known to hold (of the whole stream TEXT was cut from).
 */
export function readPlainYaml(text: string, printable = false): { value: unknown } | undefined {
  if (!IMPLICIT || (!printable && !isPrintableAscii(text))) return undefined;
  try {
    return { value: new Reader(text).document() };
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}
