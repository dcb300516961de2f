// `ktables graph`: one picture per service port (Mermaid or Graphviz DOT). Wiring only.
import type { Host } from '../../host.js';
import { UsageError } from '../../errors.js';
import { tracerForModel, tracerForRules } from '../../behaviour/tracers.js';
import { modelPictures } from '../../graph/pictures.js';
import { toDot, toMermaid } from '../../graph/render.js';
import { tracePicture, type Picture } from '../../graph/build.js';
import type { WordsContext } from '../../graph/words.js';
import type { TraceResult } from '../../trace/packet.js';
import { proxyOptions, type CompileFlags } from '../flags.js';
import { outputFlag, writeOutput } from '../io.js';
import { loadModel, previousNatChains } from '../../app/compile-rules.js';
import { sniffRulesFile } from '../../app/read-rules.js';

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
  const paths = argv.paths ?? [];
  if (paths.length === 0 && argv.rules)
    throw new UsageError('--rules draws a rule file, but the Services and their entry points come from manifests: give them too');
  let opts = proxyOptions(argv, host);
  let rulesText: string | undefined;
  let kind: 'iptables' | 'nftables' | undefined;
  if (argv.rules) {
    const read = sniffRulesFile(host, argv.rules);
    rulesText = read.text;
    if (read.kind === 'manifests')
      throw new UsageError(`--rules ${argv.rules}: not an iptables-save / iptables-restore or nftables rule set`);
    kind = read.kind;
    if (argv['proxy-mode'] && argv['proxy-mode'] !== kind)
      throw new UsageError(`${argv.rules} holds ${kind} rules but --proxy-mode is ${argv['proxy-mode']}`);
    // The manifests' entry points as a node in the file's mode has them.
    opts = { ...opts, proxyMode: kind };
  }
  const loaded = loadModel(paths, opts, host);
  if (argv.verbose) for (const n of loaded.notes) host.stderr.write(`ktables: ${n}\n`);
  const model = loaded.model;
  const tracer =
    rulesText && kind
      ? tracerForRules(kind, rulesText, model.node.nodeIPs, argv['ip-family'] ? opts.ipFamily : model.node.family)
      : tracerForModel(model, opts.proxyMode, opts.proxyMode === 'iptables' ? previousNatChains(host, argv['previous-rules']) : undefined);
  const pictures = modelPictures([model], tracer, argv.service);
  if (pictures.length === 0) {
    throw new UsageError(argv.service ? `no service port matches --service ${argv.service}` : 'no service ports to draw');
  }
  writeOutput(host, renderPictures(pictures, argv.format), outputFlag(argv.output));
}
