// A rule's deciding matches in words, for the edges of a picture: "from outside the cluster
// CIDR", "source in 203.0.113.0/24", "to a node address", "random 50%". Both rule languages;
// comments, counters and the target are not matches and are left out.
import type { TraceStep } from '../trace/packet.js';
import {
  FIREWALL_IPS_MAP,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
} from '../kubeproxy/nftables-names.js';

export interface WordsContext {
  /** The pod network (ClusterCIDR / NodeCIDR detection), to say "the cluster CIDR". */
  clusterCIDRs: string[];
}

const cidrWords = (c: string, ctx: WordsContext) => (ctx.clusterCIDRs.includes(c) ? 'the cluster CIDR' : c);

function iptablesWords(text: string, ctx: WordsContext): string[] {
  const tokens = text.match(/"[^"]*"|\S+/g) ?? [];
  const out: string[] = [];
  for (let i = 2; i < tokens.length; i++) {
    const neg = tokens[i] === '!';
    const t = neg ? tokens[++i] : tokens[i];
    const v = tokens[i + 1] ?? '';
    switch (t) {
      case '-s':
        out.push(neg ? `from outside ${cidrWords(v, ctx)}` : `source in ${cidrWords(v, ctx)}`);
        i++;
        break;
      case '-d':
        out.push(neg ? `not to ${v}` : `to ${v.replace(/\/(32|128)$/, '')}`);
        i++;
        break;
      case '-i':
        out.push(neg ? `not in on ${v}` : `in on ${v}`);
        i++;
        break;
      case '--dst-type':
        out.push(neg ? 'not to a node address' : 'to a node address');
        i++;
        break;
      case '--src-type':
        out.push(neg ? 'not from the node' : 'from the node itself');
        i++;
        break;
      case '--dport':
        out.push(`port ${v}`);
        i++;
        break;
      case '--probability':
        out.push(`random ${Math.round(Number(v) * 10000) / 100}%`);
        i++;
        break;
      case '--rcheck':
        out.push('a client seen recently (session affinity)');
        break;
      case '--mark':
        out.push(neg ? 'not marked for masquerade' : 'marked for masquerade');
        i++;
        break;
      case '--ctstate':
        i++;
        break;
      case '--comment':
      case '-m':
      case '-p':
      case '--mode':
      case '--seconds':
      case '--name':
      case '--mask':
      case '--nfacct-name':
        i++;
        break;
      case '-j':
        i = tokens.length;
        break;
      default:
        break;
    }
  }
  return out;
}

/** kube-proxy's verdict maps, by what their keys mean. */
function mapWords(map: string, key: string[]): string {
  const [addr, , port] = key;
  switch (map) {
    case SERVICE_IPS_MAP:
      return `to ${addr}, port ${port}`;
    case SERVICE_NODEPORTS_MAP:
      return `NodePort ${key[key.length - 1]}`;
    case FIREWALL_IPS_MAP:
      return `to ${addr}, port ${port} (source ranges apply)`;
    case NO_ENDPOINT_SERVICES_MAP:
    case NO_ENDPOINT_NODEPORTS_MAP:
      return 'no endpoints';
    default:
      return `${key.join(' ')} in @${map}`;
  }
}

function nftablesWords(step: TraceStep, ctx: WordsContext): string[] {
  const out: string[] = [];
  const text = step.text;
  // The interesting lookups already have their outcome in the tracer's note.
  for (const n of (step.note ?? '').split('; ')) {
    const m = /^@([\w-]+) \{ (.*) \} →/.exec(n);
    if (m) out.push(mapWords(m[1]!, m[2]!.split(' . ')));
    const r = /^random (\d+) of (\d+)/.exec(n);
    if (r) out.push(`random ${r[1]} of ${r[2]}`);
  }
  const saddr = /\bip6? saddr (!= )?(\{[^}]*\}|\S+)/.exec(text);
  if (saddr && !saddr[2]!.startsWith('@') && saddr[2] !== '.') {
    const what = saddr[2]!
      .replace(/[{}]/g, '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .join(', ');
    out.push(saddr[1] ? `from outside ${cidrWords(what, ctx)}` : `source in ${cidrWords(what, ctx)}`);
  }
  const daddr = /\bip6? daddr (!= )?(\S+)/.exec(text);
  if (daddr && !daddr[2]!.startsWith('@') && daddr[2] !== '.') out.push(`${daddr[1] ? 'not to' : 'to'} ${daddr[2]}`);
  if (/fib daddr type local/.test(text)) out.push(/fib daddr type != local/.test(text) ? 'not to a node address' : 'to a node address');
  if (/fib saddr type local/.test(text)) out.push('from the node itself');
  const iif = /iifname (!= )?"?([\w.*-]+)"?/.exec(text);
  if (iif) out.push(`${iif[1] ? 'not in on' : 'in on'} ${iif[2]}`);
  const dport = /\b(?:tcp|udp|sctp|th) dport (\d+)/.exec(text);
  if (dport) out.push(`port ${dport[1]}`);
  if (/ip6? saddr @affinity/.test(text)) out.push('a client seen recently (session affinity)');
  if (/mark and 0x[0-9a-f]+ == 0/.test(text)) out.push('not marked for masquerade');
  return out;
}

export function stepWords(step: TraceStep, ctx: WordsContext): string {
  if (step.kind !== 'rule') return '';
  const words = step.text.startsWith('-A ') ? iptablesWords(step.text, ctx) : nftablesWords(step, ctx);
  return [...new Set(words)].join(', ');
}
