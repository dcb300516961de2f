import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import type { Problem } from '../errors.js';
import type { Host } from '../host.js';
import { parseDocuments, type SourceObject } from './documents.js';

const MANIFEST = /\.(ya?ml|json)$/i;

/** What reading the input needs from the host: stdin and the file system. */
export type InputHost = Pick<Host, 'readStdin'> & { fs: Pick<Host['fs'], 'readFileSync' | 'readdirSync' | 'statSync'> };

/** A bare stdin reader (older callers) means the real file system. */
export function inputHost(io: InputHost | (() => string)): InputHost {
  return typeof io === 'function' ? { readStdin: io, fs: nodeFs } : io;
}

/** Files under a directory, recursively, in a stable (sorted) order. */
function listManifests(fs: InputHost['fs'], dir: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const st = fs.statSync(path);
    if (st.isDirectory()) out.push(...listManifests(fs, path));
    else if (MANIFEST.test(name)) out.push(path);
  }
  return out;
}

/**
 * Reads every PATH (file, directory, or "-" for stdin) into source objects. Unreadable paths
 * and syntax errors are collected as problems; nothing is thrown for bad input.
 */
export function readSources(paths: string[], io: InputHost | (() => string), problems: Problem[]): SourceObject[] {
  const { readStdin, fs } = inputHost(io);
  const out: SourceObject[] = [];
  for (const p of paths) {
    if (p === '-') {
      let text: string;
      try {
        text = readStdin();
      } catch (e) {
        // A failed read is not an empty input (that would compile to "no Services").
        problems.push({ file: '<stdin>', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
        continue;
      }
      for (const o of parseDocuments('<stdin>', text, problems)) out.push(o);
      continue;
    }
    let files: string[];
    try {
      files = fs.statSync(p).isDirectory() ? listManifests(fs, p) : [p];
    } catch (e) {
      problems.push({ file: p, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      continue;
    }
    for (const f of files) {
      let text: string;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch (e) {
        problems.push({ file: f, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
        continue;
      }
      // One by one: spreading 10^5 objects into push() overflows the call stack.
      for (const o of parseDocuments(f, text, problems)) out.push(o);
    }
  }
  return out;
}
