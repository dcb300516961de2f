// The plain-YAML reader (src/input/yaml-plain.ts) against js-yaml, which it stands in for:
// whatever document it accepts, js-yaml reads without an error and to the same value, key
// order included; everything else it leaves to js-yaml.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { readPlainYaml } from '../src/input/yaml-plain.js';

const ROOT = join(import.meta.dirname, '..');
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2000);

function jsYaml(text: string): { value: unknown } | { error: string } {
  try {
    return { value: yaml.load(text, { schema: yaml.CORE_SCHEMA, maxDepth: 64 } as yaml.LoadOptions) };
  } catch (e) {
    return { error: String(e) };
  }
}

/** Undefined when the reader agrees with js-yaml (or steps aside), else what differs. */
function disagreement(text: string): string | undefined {
  const plain = readPlainYaml(text);
  if (!plain) return undefined;
  const reference = jsYaml(text);
  if ('error' in reference) return `accepted, but js-yaml refuses it: ${reference.error}`;
  if (isDeepStrictEqual(plain.value, reference.value) && JSON.stringify(plain.value) === JSON.stringify(reference.value)) return undefined;
  return `read as ${JSON.stringify(plain.value)}, js-yaml reads ${JSON.stringify(reference.value)}`;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(name) ? [path] : [];
    });
}

const SCALARS = [
  'a',
  'a b',
  'a:b',
  'http://x/y',
  'a#b',
  'node-0',
  '10.0.0.1',
  'kubernetes.io/service-name',
  'x.y',
  '1',
  '-1',
  '+1',
  '0',
  '00',
  '012',
  '0x1F',
  '0o17',
  '0b11',
  '1_000',
  '1.5',
  '-.5',
  '.5',
  '1e3',
  '1.5e-3',
  '.inf',
  '-.Inf',
  '.NaN',
  '~',
  'null',
  'Null',
  'NULL',
  'nULL',
  'true',
  'True',
  'TRUE',
  'tRUE',
  'false',
  'yes',
  'on',
  '2024-01-01',
  '9007199254740993',
  '_a',
  '/x',
  '+',
  '-',
  '.',
  '"q"',
  '"a b: c #d"',
  "'s'",
  "'it''s'",
  "''",
  '""',
  '"a\\"b"',
  '"a\\nb"',
  '[a, b]',
  '[a, [1, 2]]',
  '{a: b}',
  '{a: 1, b: [x]}',
  '[]',
  '{}',
  '[ a , b ]',
  '{ a: b }',
  '[a,]',
  '[a: b]',
  '{a:b}',
  '{a, b}',
  '&x a',
  '*x',
  '!!str 1',
  '|',
  '>',
  '[fd00::1]',
  '[fd00::1, fd00::2]',
  '[fd00::]',
  '[a:]',
  '[a:b]',
  '{a: b:c}',
  '{a: b: c}',
  '{a:b: c}',
  '[::1]',
  'fd00::1',
  '? a',
  ': a',
  '@a',
  '`a`',
  '%a',
  'a # c',
  'a  ',
  'é',
  'a\tb',
  '- a',
  'a: b',
];
const KEYS = [
  'a',
  'b',
  'name',
  'a b',
  'a:b',
  '"q"',
  "'s'",
  '"a: b"',
  '1',
  'true',
  'null',
  '~',
  '__proto__',
  '-a',
  '.a',
  'x/y',
  'a #c',
  'é',
];

// Flow collections of the scalars above, nested once: `[a, {k: b}]`.
const flowScalar = fc.constantFrom(...SCALARS, ' ', '');
const flowPart = fc.oneof(
  fc.array(flowScalar, { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
  fc
    .array(fc.tuple(fc.constantFrom(...KEYS), flowScalar), { maxLength: 3 })
    .map((pairs) => `{${pairs.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
);
const flow = fc.oneof(
  flowPart,
  fc.array(fc.oneof(flowScalar, flowPart), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
  fc
    .array(fc.tuple(fc.constantFrom(...KEYS), fc.oneof(flowScalar, flowPart)), { maxLength: 3 })
    .map((pairs) => `{${pairs.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
);

// Lines of a literal block scalar, before its indent is added (`<` takes one space away).
const LITERAL_LINES = ['x', '{"a":"b\\n"}', '# not a comment', 'a: b', '  deeper', '', ' ', 'trailing ', '- x', '<x'];

// A document as kubectl lays it out (or nearly): mappings and sequences to some depth,
// sequences at their key's indent or deeper, scalars from the list above, now and then a comment.
const node = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.constantFrom(...SCALARS), flow).map((s) => ({ scalar: s })),
    fc
      .tuple(fc.constantFrom('|', '|-', '|+', '>', '| ', '|2'), fc.array(fc.constantFrom(...LITERAL_LINES), { minLength: 1, maxLength: 5 }))
      .map(([literal, lines]) => ({ literal, lines })),
    tie('map'),
    tie('seq'),
  ),
  map: fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('value')), { minLength: 1, maxLength: 4 }).map((entries) => ({ entries })),
  seq: fc.array(tie('value'), { minLength: 1, maxLength: 3 }).map((items) => ({ items })),
}));

type Node = { scalar: string } | { entries: [string, Node][] } | { items: Node[] } | { literal: string; lines: string[] };

function render(n: Node, indent: number, style: { seqIndent: number; comment: boolean }): string[] {
  const pad = ' '.repeat(indent);
  if ('scalar' in n) return [n.scalar];
  if ('literal' in n) return [n.literal, ...n.lines];
  if ('entries' in n) {
    const lines: string[] = [];
    for (const [key, value] of n.entries) {
      if ('scalar' in value) lines.push(`${pad}${key}: ${value.scalar}`);
      else if ('literal' in value) {
        lines.push(`${pad}${key}: ${value.literal}`);
        const inner = ' '.repeat(indent + 2);
        for (const l of value.lines) lines.push(l === '' ? '' : l.startsWith('<') ? inner.slice(1) + l.slice(1) : inner + l);
      } else {
        lines.push(`${pad}${key}:${style.comment ? ' # c' : ''}`);
        const at = 'items' in value ? indent + style.seqIndent : indent + 2;
        lines.push(...render(value, at, style));
      }
    }
    return lines;
  }
  const lines: string[] = [];
  for (const item of n.items) {
    if ('scalar' in item) lines.push(`${pad}- ${item.scalar}`);
    else if ('literal' in item) lines.push(`${pad}- ${item.literal}`, ...item.lines.map((l: string) => `${pad}  ${l}`));
    else if ('entries' in item) {
      const inner = render(item, indent + 2, style);
      lines.push(`${pad}- ${inner[0]!.slice(indent + 2)}`, ...inner.slice(1));
    } else lines.push(`${pad}-`, ...render(item, indent + 2, style));
  }
  return lines;
}

describe('the plain-YAML reader', () => {
  it('reads what js-yaml reads in every YAML file of the project', () => {
    let read = 0;
    for (const dir of ['fixtures', 'examples', 'golden', 'test']) {
      for (const file of yamlFiles(join(ROOT, dir))) {
        for (const doc of readFileSync(file, 'utf8').split(/^(?:---|\.\.\.)(?:\s.*)?$/m)) {
          expect(disagreement(doc), `${file}:\n${doc}`).toBeUndefined();
          if (readPlainYaml(doc)) read++;
        }
      }
    }
    // The fixtures are mostly plain: the reader is in use, not stepping aside for everything.
    expect(read).toBeGreaterThan(500);
  });

  it('agrees with js-yaml on generated documents', () => {
    let accepted = 0;
    let literals = 0; // of them with a literal block scalar
    fc.assert(
      fc.property(
        node.map,
        fc.constantFrom(0, 2),
        fc.boolean(),
        fc.boolean(),
        (doc: unknown, seqIndent: number, comment: boolean, trailing: boolean) => {
          const lines = render(doc as Node, 0, { seqIndent, comment });
          const text = lines.join('\n') + (trailing ? '\n' : '');
          if (readPlainYaml(text)) {
            accepted++;
            if (/: \|/.test(text)) literals++;
          }
          expect(disagreement(text), text).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(RUNS / 50);
    expect(literals).toBeGreaterThan(0);
  });

  it('agrees with js-yaml on documents of random lines', () => {
    const line = fc.tuple(
      fc.constantFrom('', ' ', '  ', '    ', '   '),
      fc.constantFrom(...KEYS.map((k) => `${k}:`), ...KEYS.map((k) => `${k}: `), '-', '- ', '# c', ''),
      fc.constantFrom('', ...SCALARS),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), (lines) => {
        const text = lines.map(([pad, head, tail]) => pad + head + tail).join('\n');
        expect(disagreement(text), text).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('reads a kubectl document', () => {
    const text = [
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  labels:',
      '    app.kubernetes.io/name: web # the app',
      '  name: web',
      '  namespace: "default"',
      'spec:',
      '  clusterIP: 10.96.0.10',
      '  ports:',
      '  - name: http',
      '    port: 80',
      "    protocol: 'TCP'",
      '    targetPort: 8080',
      '  selector: {app: web}',
      '  sessionAffinity: None',
      'status:',
      '  loadBalancer: {}',
      '',
    ].join('\n');
    expect(readPlainYaml(text)).toStrictEqual(jsYaml(text));
  });

  it.each([
    ['an anchor and an alias', 'a: &x 1\nb: *x'],
    ['a tag', 'a: !!str 1'],
    ['a folded block scalar', 'a: >\n  x'],
    ['a block scalar that keeps its trailing lines', 'a: |+\n  x'],
    ['a block scalar with an indentation indicator', 'a: |2\n   x'],
    ['a block scalar with a line of spaces', 'a: |\n  x\n   \n  y'],
    ['a multi-line plain scalar', 'a: b\n  c'],
    ['a multi-line flow collection', 'a: [b,\n  c]'],
    ['an escape', 'a: "b\\nc"'],
    ['a duplicate key', 'a: 1\na: 2'],
    ['a __proto__ key', '__proto__: 1'],
    ['a key that is a number', '80: http'],
    ['a tab', 'a:\tb'],
    ['non-ASCII text', 'a: é'],
    ['a merge key', '<<: {a: 1}'],
    ['deep nesting', Array.from({ length: 60 }, (_, i) => `${' '.repeat(i * 2)}a:`).join('\n')],
    ['a top-level sequence', '- a'],
    ['an empty document', '# nothing\n'],
  ])('leaves %s to js-yaml', (_, text) => {
    expect(readPlainYaml(text)).toBeUndefined();
  });
});
