// Real parsers for the pictures: Graphviz `dot -Tsvg` for DOT, Mermaid's own parser for Mermaid
// (mermaid needs a DOM for its sanitizer even to parse; jsdom provides one, no browser).
import { spawnSync } from 'node:child_process';

let mermaidP: Promise<{ parse(text: string): Promise<unknown> }> | undefined;

async function mermaid() {
  mermaidP ??= (async () => {
    // @ts-expect-error: jsdom ships no types, and this file needs only its constructor.
    const { JSDOM } = (await import('jsdom')) as unknown as { JSDOM: new (html: string) => { window: { document: unknown } } };
    const dom = new JSDOM('');
    const g = globalThis as Record<string, unknown>;
    g['window'] ??= dom.window;
    g['document'] ??= dom.window.document;
    return ((await import('mermaid')) as unknown as { default: { parse(text: string): Promise<unknown> } }).default;
  })();
  return mermaidP;
}

// Many fixture clusters draw the very same picture (in both proxy modes, too): Mermaid's verdict
// on a text is the same every time, so each distinct text is parsed once.
const parsed = new Map<string, Promise<string>>();

/** Throws with Mermaid's message when the text is not a valid diagram; returns its type. */
export function parseMermaid(text: string): Promise<string> {
  let r = parsed.get(text);
  if (!r) {
    r = (async () => ((await (await mermaid()).parse(text)) as { diagramType: string }).diagramType)();
    parsed.set(text, r);
  }
  return r;
}

/** The ```mermaid blocks of a Markdown text. */
export function mermaidBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

export const haveDot = spawnSync('dot', ['-V'], { encoding: 'utf8' }).status === 0;

/** Graphviz renders the text to SVG: its exit status, its complaints and the SVG. */
export function renderDot(text: string): { status: number; stderr: string; svg: string } {
  const r = spawnSync('dot', ['-Tsvg'], { input: text, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stderr: r.stderr, svg: r.stdout };
}
