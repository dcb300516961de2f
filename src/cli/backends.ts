// Which backend renders a model, by proxy mode.
import type { ProxyModel } from '../model/types.js';
import { compileIptables } from '../backends/iptables/compile.js';
import { compileNftables } from '../backends/nftables/compile.js';
import { emitIptables } from '../emit/iptables.js';
import { emitNftables } from '../emit/nftables.js';

export function backendText(model: ProxyModel, mode: 'iptables' | 'nftables' = 'nftables'): string {
  if (mode === 'iptables') return emitIptables(compileIptables(model));
  return emitNftables(compileNftables(model));
}
