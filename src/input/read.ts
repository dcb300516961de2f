import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { InputError, type Problem } from '../errors.js';
import type { Host } from '../host.js';
import { ReadRefused, readFileBounded } from './bounded.js';
import { eachDocumentObject, type SourceObject } from './documents.js';

const MANIFEST = /\.(ya?ml|json)$/i;

/** What reading the input needs from the host: stdin and the file system. */
export type InputHost = Pick<Host, 'readStdin'> & {
  fs: Pick<Host['fs'], 'readdirSync' | 'statSync' | 'realpathSync' | 'openSync' | 'closeSync' | 'fstatSync' | 'readSync'>;
};

/** A bare stdin reader (older callers) means the real file system. */
function inputHost(io: InputHost | (() => string)): InputHost {
  return typeof io === 'function' ? { readStdin: io, fs: nodeFs } : io;
}

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/**
 * Files under a directory, recursively, in a stable (sorted) order. A dangling link or a link
 * loop inside is skipped with a note naming it: one bad entry must not reject the whole tree.
 */
function listManifests(fs: InputHost['fs'], dir: string, notes: string[], seen: Set<string>): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let st;
    try {
      st = fs.statSync(path);
    } catch (e) {
      notes.push(
        `skipped ${JSON.stringify(path)}: ${errCode(e) === 'ENOENT' ? 'a dangling symbolic link' : errCode(e) === 'ELOOP' ? 'a symbolic link loop' : `cannot read (${errCode(e)})`}`,
      );
      continue;
    }
    if (st.isDirectory()) {
      // A link back up the tree would recurse forever: walk each real directory once.
      let real: string;
      try {
        real = fs.realpathSync(path);
      } catch (e) {
        notes.push(`skipped ${JSON.stringify(path)}: cannot resolve (${errCode(e)})`);
        continue;
      }
      if (seen.has(real)) {
        notes.push(`skipped ${JSON.stringify(path)}: a directory already read (a symbolic link loop)`);
        continue;
      }
      seen.add(real);
      out.push(...listManifests(fs, path, notes, seen));
    } else if (MANIFEST.test(name)) out.push(path);
  }
  return out;
}

function readProblem(file: string, e: unknown): Problem {
  if (e instanceof ReadRefused) return { file, message: e.message };
  return { file, message: `cannot read: ${errCode(e)}` };
}

/**
 * Reads every PATH (file, directory, or "-" for stdin) and hands its source objects to SINK,
 * in reading order, document by document. Unreadable paths and syntax errors are collected as
 * problems; nothing is thrown for bad input. Notes (skipped directory entries) go to NOTES.
 */
export function readSources(
  paths: string[],
  io: InputHost | (() => string),
  problems: Problem[],
  notes: string[],
  sink: (o: SourceObject) => void,
): void {
  const { readStdin, fs } = inputHost(io);
  for (const p of paths) {
    if (p === '-') {
      let text: string;
      try {
        text = readStdin();
      } catch (e) {
        // A failed read is not an empty input (that would compile to "no Services").
        if (e instanceof InputError) problems.push(...e.problems);
        else problems.push(readProblem('<stdin>', e));
        continue;
      }
      eachDocumentObject('<stdin>', text, problems, sink);
      continue;
    }
    let files: string[];
    try {
      files = fs.statSync(p).isDirectory() ? listManifests(fs, p, notes, new Set([fs.realpathSync(p)])) : [p];
    } catch (e) {
      problems.push({ file: p, message: `cannot read: ${errCode(e)}` });
      continue;
    }
    for (const f of files) {
      let text: string;
      try {
        text = readFileBounded(fs, f);
      } catch (e) {
        problems.push(readProblem(f, e));
        continue;
      }
      eachDocumentObject(f, text, problems, sink);
    }
  }
}
