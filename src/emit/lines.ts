// The emitters' record of where each object lands in their output (1-based lines), keyed by the
// IR objects they were given: chain headers, rules (by chain and index: a chain's rules are
// written on consecutive lines), and nft sets, maps and elements. Filled only when a caller
// asks for it, so the compile path pays nothing.
import type { LinedChain, RuleLines } from '../ir/lines.js';

interface ChainLines {
  header: number;
  firstRule: number;
}

export class EmittedLines implements RuleLines {
  private readonly chains = new Map<object, ChainLines>();
  private readonly sets = new Map<object, number>();
  private readonly elements = new Map<object, number>();

  /** Records a chain: its header (declaration) line and the line of its first rule. */
  addChain(chain: object, header: number, firstRule: number): void {
    this.chains.set(chain, { header, firstRule });
  }

  addSet(set: object, line: number): void {
    this.sets.set(set, line);
  }

  addElement(element: object, line: number): void {
    this.elements.set(element, line);
  }

  /** The line declaring CHAIN (`:NAME - [0:0]`, `add chain ...`). */
  chain(chain: object): number | undefined {
    return this.chains.get(chain)?.header;
  }

  rule(chain: LinedChain, index: number): number | undefined {
    const c = this.chains.get(chain);
    return c && index >= 0 && index < chain.rules.length ? c.firstRule + index : undefined;
  }

  /** The line declaring an nft set or map. */
  set(set: object): number | undefined {
    return this.sets.get(set);
  }

  element(element: object): number | undefined {
    return this.elements.get(element);
  }
}
