import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Problem } from '../errors.js';
import { parseDocuments, type SourceObject } from './documents.js';

const MANIFEST = /\.(ya?ml|json)$/i;

/** Files under a directory, recursively, in a stable (sorted) order. */
function listManifests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...listManifests(path));
    else if (MANIFEST.test(name)) out.push(path);
  }
  return out;
}

/**
 * Reads every PATH (file, directory, or "-" for stdin) into source objects. Unreadable paths
 * and syntax errors are collected as problems; nothing is thrown for bad input.
 */
export function readSources(paths: string[], readStdin: () => string, problems: Problem[]): SourceObject[] {
  const out: SourceObject[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(...parseDocuments('<stdin>', readStdin(), problems));
      continue;
    }
    let files: string[];
    try {
      files = statSync(p).isDirectory() ? listManifests(p) : [p];
    } catch (e) {
      problems.push({ file: p, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      continue;
    }
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (e) {
        problems.push({ file: f, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
        continue;
      }
      out.push(...parseDocuments(f, text, problems));
    }
  }
  return out;
}
