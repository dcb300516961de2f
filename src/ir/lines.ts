// Where the rules of a rule set stand in a text, so a trace step names the line it came from.
// A parsed rule set carries each rule's line in `source.line` (parse/); a compiled one gets a
// table from the emitter, which knows where it writes each chain header, rule and element
// (emit/lines.ts). The tracers ask only this interface: one way to name a line.

/** What a line lookup needs of a chain: its rules, each perhaps with the line it was read from. */
export interface LinedChain {
  readonly rules: readonly { source?: { line: number } }[];
}

export interface RuleLines {
  /** 1-based line of rule INDEX (0-based) of CHAIN, if the text holds it. */
  rule(chain: LinedChain, index: number): number | undefined;
}

/** The lines a parser recorded on the rules it read. */
export const SOURCE_LINES: RuleLines = { rule: (chain, index) => chain.rules[index]?.source?.line };

/** Whether any rule of these chains was read from a text (then its lines are the ones to name). */
export function readFromText(chains: Iterable<LinedChain>): boolean {
  for (const c of chains) for (const r of c.rules) return r.source !== undefined;
  return false;
}
