// Where a field sits in a document's text. Used on the error path only: js-yaml (the fast
// reader) keeps no positions, so a failing document is parsed again with the `yaml` package,
// whose nodes carry their source ranges. That package is loaded on the first error only: a
// run over valid input never pays for it at start-up.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { LineCounter, Node, parseDocument } from 'yaml';

type YamlModule = typeof Yaml;
let yamlModule: YamlModule | undefined;
const loadYaml = (): YamlModule => (yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule);

export interface Position {
  line: number; // 1-based, within the text given
  column: number; // 1-based
}

let cache: { text: string; doc: ReturnType<typeof parseDocument>; lines: LineCounter } | undefined;

function parsed(text: string) {
  if (cache?.text !== text) {
    const { LineCounter, parseDocument } = loadYaml();
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, strict: false, prettyErrors: false });
    cache = { text, doc, lines };
  }
  return cache;
}

/**
 * The position of PATH in TEXT (a single YAML or JSON document): the deepest node on the path
 * that exists, so a missing field points at the object that lacks it. Undefined when the text
 * cannot be read this way.
 */
export function locate(text: string, path: readonly PropertyKey[], opts: { key?: boolean } = {}): Position | undefined {
  try {
    const { isMap, isScalar, isSeq } = loadYaml();
    const { doc, lines } = parsed(text);
    let node: unknown = doc.contents;
    let best: Node | undefined = (node as Node | null) ?? undefined;
    for (const [i, key] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => (isScalar(p.key) ? p.key.value : p.key) === key || (isScalar(p.key) && String(p.key.value) === String(key)),
        );
        if (!pair) break;
        // A bad key (an unknown name) is pointed at itself, not at its value.
        if (opts.key && i === path.length - 1) {
          best = pair.key as Node;
          break;
        }
        // A key with an empty value has no value node: point at the key.
        node = pair.value ?? pair.key;
        if (!pair.value) {
          best = pair.key as Node;
          break;
        }
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
      } else break;
      if (!node) break;
      best = node as Node;
    }
    const start = best?.range?.[0];
    if (start === undefined) return undefined;
    const p = lines.linePos(start);
    return { line: p.line, column: p.col };
  } catch {
    return undefined;
  }
}
