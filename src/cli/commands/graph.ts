// `ktables graph`: one picture per service port (Mermaid or Graphviz DOT). Wiring only.
import type { Host } from '../../host.js';
import { UsageError } from '../../errors.js';
import { toDot, toMermaid } from '../../graph/render.js';
import { tracePicture, type Picture } from '../../graph/build.js';
import type { WordsContext } from '../../graph/words.js';
import type { TraceResult } from '../../trace/packet.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { outputFlag, writeOutput } from '../io.js';
import { graphInputs } from '../../app/graph-inputs.js';

export interface GraphArgs extends CompileFlags {
  paths?: string[];
  rules?: string;
  service?: string;
  format: 'mermaid' | 'dot';
  output?: string;
  verbose?: boolean;
}

/** Several Mermaid pictures make a Markdown page (GitHub renders each block); one is printed bare. */
export function renderPictures(pictures: Picture[], format: 'mermaid' | 'dot'): string {
  if (format === 'dot') return pictures.map(toDot).join('\n');
  if (pictures.length === 1) return toMermaid(pictures[0]!);
  return pictures.map((p) => `## ${p.title}\n\n\`\`\`mermaid\n${toMermaid(p)}\`\`\`\n`).join('\n');
}

/** `trace --format mermaid|dot`: one packet's path. */
export function renderTracePicture(r: TraceResult, format: 'mermaid' | 'dot', ctx: WordsContext): string {
  const p = tracePicture(r, ctx);
  return format === 'dot' ? toDot(p) : toMermaid(p);
}

export function run(argv: GraphArgs, host: Host): void {
  if ((argv.paths ?? []).length === 0 && argv.rules)
    throw new UsageError('--rules draws a rule file, but the Services and their entry points come from manifests: give them too');
  const opts = proxyOptions(argv, host);
  const { pictures, notes } = graphInputs(
    host,
    {
      paths: argv.paths ?? [],
      rules: argv.rules,
      proxyMode: argv['proxy-mode'],
      familyGiven: !!argv['ip-family'],
      service: argv.service,
      previousRules: argv['previous-rules'],
    },
    opts,
  );
  if (argv.verbose) for (const n of notes) host.stderr.write(`ktables: ${n}\n`);
  writeOutput(host, renderPictures(pictures, argv.format), outputFlag(argv.output));
}
