// In-process compile of manifest text, for tests that run the pipeline many times.
import { loadInventory } from '../../src/input/load.js';
import { buildModel } from '../../src/model/build.js';
import { DEFAULT_OPTIONS, type ProxyOptions } from '../../src/model/options.js';
import { compileIptables } from '../../src/backends/iptables/compile.js';
import { emitIptables } from '../../src/emit/iptables.js';

export function compileText(yamlText: string, opts: Partial<ProxyOptions> = {}): string {
  const inv = loadInventory(['-'], () => yamlText);
  const model = buildModel(inv, {
    ...DEFAULT_OPTIONS,
    hostnameOverride: 'node-a',
    nodeIPs: ['192.168.10.5'],
    clusterCIDRs: ['10.244.0.0/16'],
    ...opts,
  });
  return emitIptables(compileIptables(model));
}
