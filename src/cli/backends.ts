// Which backend renders a model, by proxy mode.
import { UsageError } from '../errors.js';
import type { ProxyModel } from '../model/types.js';
import { compileIptables } from '../backends/iptables/compile.js';
import { emitIptables } from '../emit/iptables.js';

export function backendText(model: ProxyModel, mode: 'iptables' | 'nftables' = 'nftables'): string {
  if (mode === 'iptables') return emitIptables(compileIptables(model));
  throw new UsageError('--proxy-mode nftables is not available in this build');
}
