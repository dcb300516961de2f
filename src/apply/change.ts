// What `apply --dry-run` prints: the node's rules now against the rules after the apply,
// through ktables diff (per service port, in words, then the rules), for both backends. The
// spelling of the node's own listing (`nft list`, iptables-save) is no difference.
import { emitIptables } from '../emit/iptables.js';
import { compareSides, type SideInfo } from '../diff/compare.js';
import { formatText } from '../diff/format/text.js';
import { compiledNftablesSide, newReadContext, rulesSide, rulesSidesPair } from '../diff/sides.js';
import type { PlannedChange } from './execute.js';

export function describeChange(change: PlannedChange): string {
  const { family, backend } = change;
  const ctx = newReadContext();
  const [now, after] =
    change.backend === 'iptables'
      ? rulesSidesPair('iptables', emitIptables(change.current), emitIptables(change.after), ctx, [family, family])
      : [
          change.current !== undefined ? rulesSide('nftables', change.current, ctx, family) : compiledNftablesSide({ tables: [] }, family),
          change.desired ? compiledNftablesSide(change.desired, family) : rulesSide('nftables', change.plan.payload, ctx, family),
        ];
  const side = (source: string): SideInfo => ({ source, input: `${backend}-rules`, backend, family });
  const r = compareSides(now, after, { old: side('now'), new: side('after apply') }, { context: 3 });
  if (r.identical)
    return backend === 'iptables'
      ? `no change: ${family} iptables already hold these rules\n`
      : 'no change: the kube-proxy table already holds these rules\n';
  return formatText(r, { stat: false, color: false });
}
