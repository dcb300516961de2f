// Pictures of a model's service ports through a tracer: what `ktables graph` prints and what a
// Markdown behaviour diff shows before and after.
import { unionProbes, type Probe } from '../behaviour/entries.js';
import type { ProxyModel } from '../model/types.js';
import { servicePicture, type Picture, type PictureTracer } from './build.js';
import type { WordsContext } from './words.js';

export function wordsContext(model: ProxyModel): WordsContext {
  const d = model.node.localDetector;
  return { clusterCIDRs: d.mode === 'ClusterCIDR' || d.mode === 'NodeCIDR' ? d.cidrs : [] };
}

export const pictureTitle = (service: string, protocol: string) => `${service} ${protocol.toUpperCase()}`;

/** Does a service port match --service ns/name or ns/name:port? */
function serviceMatches(displayName: string, wanted: string | undefined): boolean {
  if (!wanted) return true;
  return displayName === wanted || displayName.startsWith(`${wanted}:`);
}

/** Probes grouped by service port, in model order. */
function probesByService(models: ProxyModel[]): Map<string, Probe[]> {
  const out = new Map<string, Probe[]>();
  for (const p of unionProbes(models).probes) {
    const k = pictureTitle(p.service, p.protocol);
    out.set(k, [...(out.get(k) ?? []), p]);
  }
  return out;
}

export function modelPictures(models: ProxyModel[], tracer: PictureTracer, wanted?: string): Picture[] {
  const ctx = wordsContext(models[0]!);
  const pictures: Picture[] = [];
  for (const [title, probes] of probesByService(models)) {
    if (!serviceMatches(probes[0]!.service, wanted)) continue;
    pictures.push(servicePicture(title, probes, tracer, ctx));
  }
  return pictures;
}
