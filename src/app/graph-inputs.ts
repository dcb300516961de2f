// `ktables graph`: the pictures of the manifests' service ports, drawn from the rules compiled
// from them or from a rules file (whose node the manifests describe).
import { UsageError } from '../errors.js';
import type { Host } from '../host.js';
import { tracerForModel, tracerForRules } from '../behaviour/tracers.js';
import { modelPictures } from '../graph/pictures.js';
import type { Picture } from '../graph/build.js';
import type { ProxyOptions } from '../model/options.js';
import { loadModel, previousNatChains } from './compile-rules.js';
import { sniffRulesFile } from './read-rules.js';

export interface GraphInputs {
  paths: string[];
  /** --rules FILE. */
  rules?: string | undefined;
  /** --proxy-mode and --ip-family as given (a rules file must agree with the first). */
  proxyMode?: string | undefined;
  familyGiven: boolean;
  /** --service: one Service or service port. */
  service?: string | undefined;
  previousRules?: string | undefined;
}

/** The pictures, and what compiling noted (shown with --verbose). */
export function graphInputs(host: Host, g: GraphInputs, options: ProxyOptions): { pictures: Picture[]; notes: string[] } {
  let opts = options;
  let rules: { kind: 'iptables' | 'nftables'; text: string } | undefined;
  if (g.rules) {
    const read = sniffRulesFile(host, g.rules);
    if (read.kind === 'manifests') throw new UsageError(`--rules ${g.rules}: not an iptables-save / iptables-restore or nftables rule set`);
    if (g.proxyMode && g.proxyMode !== read.kind)
      throw new UsageError(`${g.rules} holds ${read.kind} rules but --proxy-mode is ${g.proxyMode}`);
    rules = { kind: read.kind, text: read.text };
    // The manifests' entry points as a node in the file's mode has them.
    opts = { ...opts, proxyMode: read.kind };
  }
  const { model, notes } = loadModel(g.paths, opts, host);
  const tracer = rules
    ? tracerForRules(rules.kind, rules.text, model.node.nodeIPs, g.familyGiven ? opts.ipFamily : model.node.family)
    : tracerForModel(model, opts.proxyMode, opts.proxyMode === 'iptables' ? previousNatChains(host, g.previousRules) : undefined);
  const pictures = modelPictures([model], tracer, g.service);
  if (pictures.length === 0)
    throw new UsageError(g.service ? `no service port matches --service ${g.service}` : 'no service ports to draw');
  return { pictures, notes };
}
