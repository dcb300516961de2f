// The YAML stream is cut into documents by offsets (LF text) or over a line array (CRLF text):
// both must find the same documents at the same lines.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Problem } from '../src/errors.js';
import { parseDocuments } from '../src/input/documents.js';

const LINES = [
  '---',
  '--- ',
  '--- a: 1',
  '--- # c',
  '--- {kind: X}',
  '...',
  '... ',
  '',
  ' ',
  '# c',
  '  # c',
  'a: 1',
  'b:',
  '  - x',
  '---x',
  '----',
  '.... ',
  'kind: Service',
  'c: [1, 2]',
];

function parse(text: string) {
  const problems: Problem[] = [];
  const docs = parseDocuments('f.yaml', text, problems);
  return { docs, problems };
}

describe('splitting a YAML stream into documents', () => {
  it('finds the same documents and lines with LF and CRLF line ends', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...LINES), { maxLength: 14 }), fc.boolean(), (lines, trailing) => {
        const text = lines.join('\n') + (trailing ? '\n' : '');
        expect(parse(text)).toEqual(parse(text.replace(/\n/g, '\r\n')));
      }),
      { numRuns: 500 },
    );
  });

  it('numbers documents and their first lines as a reader counts them', () => {
    // The comment before the first separator is document 1 (empty); blank documents are not counted.
    const { docs, problems } = parse('# head\n---\na: 1\n---\n\n---\n--- b: 2\nc: 3\n');
    expect(problems).toEqual([]);
    expect(docs.map((d) => [d.document, d.line, d.value])).toEqual([
      [2, 3, { a: 1 }],
      [3, 7, { b: 2, c: 3 }],
    ]);
  });
});
