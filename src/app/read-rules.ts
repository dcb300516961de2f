// A rules input (a --rules file, a side of a diff) read once and told apart by content: rule
// text in any of the formats parse/scan.ts knows, or manifests. The sniffing itself is parse's
// (rulesKind, readRules); this file only reads the file and hands back what it holds.
import type { Family } from '../util/ip.js';
import type { Host } from '../host.js';
import { readRules, rulesKind, type ReadRules } from '../parse/read.js';
import { readTextFile } from './read-file.js';

/** FILE ('-': stdin) read into its IR; `family` and `fallback` as parse/read.ts readRules. */
export function readRulesFile(host: Host, file: string, family?: Family, fallback?: Family): ReadRules {
  return readRules(readTextFile(host, file), file, family, fallback);
}

/** FILE's text and which kind of input it holds, without parsing the rules (their reader parses them). */
export function sniffRulesFile(host: Host, file: string): { kind: ReadRules['kind']; text: string } {
  const text = readTextFile(host, file);
  return { kind: rulesKind(text), text };
}
