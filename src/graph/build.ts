// A picture of where packets go: built from traces, so it is the same for both modes and for a
// node's dump. One picture per service port (every entry point, every client), or one per
// traced packet. Nodes: entry points, the chains that decide for this Service, the masquerade
// mark, and the outcomes (endpoints, DROP, REJECT, ACCEPT, not handled). Edges carry the
// deciding matches in words.
import type { Probe } from '../behaviour/entries.js';
import { percent } from '../trace/format.js';
import type { TraceBranch, TraceResult, TracePacket, TraceStep } from '../trace/packet.js';
import { stepWords, type WordsContext } from './words.js';
import { KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_SERVICES, roleOf, type Role } from '../kubeproxy/iptables-names.js';
import { MARK_MASQ_CHAIN, nftRoleOf, SERVICES_CHAIN, type NftRole } from '../kubeproxy/nftables-names.js';

export type NodeKind = 'entry' | 'chain' | 'masq' | 'endpoint' | 'drop' | 'reject' | 'accept' | 'none';

export interface GraphNode {
  id: string;
  label: string;
  kind: NodeKind;
}

interface GraphEdge {
  from: string;
  to: string;
  label: string;
  /** A side effect (the masquerade mark), not a step of the walk. */
  dashed?: boolean;
}

export interface Picture {
  title: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface PictureTracer {
  trace(p: TracePacket, opts?: { path?: boolean }): TraceResult;
}

const MARK_CHAINS = new Set([KUBE_MARK_MASQ, MARK_MASQ_CHAIN]);
/** Chains that belong to one Service (iptables hashed names; nftables names carry ns/name). */
const serviceChain = (c: string) => roleOf(c) !== undefined || c.includes('/');
/** The chains that pick the Service from the destination. */
const DISPATCH = new Set([KUBE_SERVICES, KUBE_NODEPORTS, SERVICES_CHAIN]);
/** What a per-service chain is for, said once on its node (the hashed names say nothing). */
const CHAIN_HINTS: Partial<Record<Role | NftRole, string>> = {
  SVC: 'all endpoints',
  service: 'all endpoints',
  SVL: 'local endpoints only',
  local: 'local endpoints only',
  EXT: 'traffic from outside the cluster',
  external: 'traffic from outside the cluster',
  FW: 'loadBalancerSourceRanges',
  firewall: 'loadBalancerSourceRanges',
  SEP: 'one endpoint',
  endpoint: 'one endpoint',
};
const chainRole = (c: string) => roleOf(c) ?? nftRoleOf(c);
const endpointChain = (c: string) => roleOf(c) === 'SEP' || nftRoleOf(c) === 'endpoint';
const MASQUERADE_MARK = new RegExp(`-j ${KUBE_MARK_MASQ}\\b|jump ${MARK_MASQ_CHAIN}\\b|mark set mark or `);
const marksForMasquerade = (s: TraceStep) => MASQUERADE_MARK.test(s.text);

class Builder {
  readonly nodes: GraphNode[] = [];
  private readonly byKey = new Map<string, GraphNode>();
  private readonly edges = new Map<string, GraphEdge & { labels: string[] }>();

  constructor(private readonly ctx: WordsContext) {}

  node(key: string, label: string, kind: NodeKind): string {
    let n = this.byKey.get(key);
    if (!n) {
      n = { id: `n${this.nodes.length + 1}`, label, kind };
      this.nodes.push(n);
      this.byKey.set(key, n);
    }
    return n.id;
  }

  /** Edges between the same two nodes with different words are kept apart; entry edges merge their clients. */
  edge(from: string, to: string, label: string, opts: { dashed?: boolean; merge?: boolean } = {}): void {
    const key = opts.merge ? `${from}>${to}` : `${from}>${to}>${label}>${opts.dashed ? 1 : 0}`;
    const e = this.edges.get(key);
    if (e) {
      if (opts.merge && label && !e.labels.includes(label)) e.labels.push(label);
      return;
    }
    const edge: GraphEdge & { labels: string[] } = { from, to, label, labels: label ? [label] : [] };
    if (opts.dashed) edge.dashed = true;
    this.edges.set(key, edge);
  }

  chainNode(s: TraceStep): string {
    // iptables chains of one name live in nat and filter (KUBE-SERVICES, KUBE-NODEPORTS).
    const role = chainRole(s.chain);
    const hint = role && CHAIN_HINTS[role];
    const label = `${s.chain}${s.table === 'filter' ? ' (filter)' : ''}${hint ? `: ${hint}` : ''}`;
    return this.node(`chain:${s.table}:${s.chain}`, label, 'chain');
  }

  outcome(b: TraceBranch): string {
    switch (b.outcome) {
      case 'DNAT':
        return this.node(`ep:${b.dnat}`, `${b.dnat}`, 'endpoint');
      case 'DROP':
        return this.node('DROP', 'DROP', 'drop');
      case 'REJECT':
        return this.node('REJECT', 'REJECT', 'reject');
      case 'ACCEPT':
        return this.node('ACCEPT', 'ACCEPT', 'accept');
      case 'NONE':
        return this.node(`none:${b.delivery}`, b.delivery === 'local' ? 'not handled: to the node' : 'not handled: passes', 'none');
    }
  }

  /** One traced packet's branches, from its entry node. */
  add(r: TraceResult, entry: string, client: string, everything: boolean): void {
    for (const b of r.branches) {
      // The rule that decided DROP / REJECT / ACCEPT is drawn wherever it is; a DNAT is drawn
      // from its endpoint chain, whatever came after it.
      const decides = b.outcome === 'DROP' || b.outcome === 'REJECT' || b.outcome === 'ACCEPT';
      const keep = (s: TraceStep, last: boolean) =>
        s.kind === 'rule' &&
        (everything || (last && decides) || serviceChain(s.chain) || DISPATCH.has(s.chain) || MARK_CHAINS.has(s.chain));
      const steps = b.steps.map((i) => r.path[i]!);
      let at = entry;
      let via: TraceStep | undefined;
      let first = true;
      // Whether the branch's share was drawn on the way into an endpoint chain (v1.36+ nftables
      // DNATs from the service chain's numgen map, with no endpoint chain to draw it on).
      let shareDrawn = false;
      const move = (to: string, label: string) => {
        if (first) this.edge(at, to, client, { merge: true });
        else this.edge(at, to, label);
        first = false;
        at = to;
      };
      steps.forEach((s, i) => {
        if (!keep(s, i === steps.length - 1) || MARK_CHAINS.has(s.chain)) return;
        const n = this.chainNode(s);
        if (n !== at) {
          let words = via ? stepWords(via, this.ctx) : '';
          // Into an endpoint's chain: its share, the same words for both modes' ways of choosing.
          // Everything random on a service's path is in its one service chain, so the
          // branch's probability is that share.
          if (endpointChain(s.chain)) shareDrawn = true;
          if (endpointChain(s.chain))
            words = [...words.split(', ').filter((w) => w && !w.startsWith('random ')), percent(b.probability)].join(', ');
          // No deciding match: the chain's unconditional last way on, or it fell through.
          move(n, words || 'otherwise');
        }
        if (marksForMasquerade(s)) this.edge(n, this.node('masq', 'mark for masquerade', 'masq'), stepWords(s, this.ctx), { dashed: true });
        via = s;
      });
      const last = steps[steps.length - 1];
      const words = last && last.kind === 'rule' && b.outcome !== 'DNAT' ? stepWords(last, this.ctx) : '';
      const share = b.outcome === 'DNAT' && !shareDrawn && b.probability < 1 ? `${percent(b.probability)}, ` : '';
      const label = b.outcome === 'DNAT' ? `${share}DNAT${b.masquerade ? ', masqueraded' : ''}` : words;
      move(this.outcome(b), label);
    }
  }

  picture(title: string): Picture {
    const edges = [...this.edges.values()].map(({ labels, ...e }) => ({ ...e, label: labels.join(', ') }));
    return { title, nodes: this.nodes, edges };
  }
}

const CLIENT_WORDS: Record<Probe['client'], string> = {
  pod: 'pod',
  'pod-elsewhere': 'pod elsewhere',
  node: 'node',
  external: 'external',
  localhost: 'localhost',
};

/** One service port's picture: every probe of it through one tracer. */
export function servicePicture(title: string, probes: Probe[], tracer: PictureTracer, ctx: WordsContext): Picture {
  const b = new Builder(ctx);
  for (const p of probes) {
    const entry = b.node(`entry:${p.destination}`, p.destination, 'entry');
    const client = p.sourceRange ? `external ${p.sourceRange} source ranges` : CLIENT_WORDS[p.client];
    b.add(tracer.trace(p.packet), entry, client, false);
  }
  return b.picture(title);
}

/** One packet's path, every rule that matched on the way. */
export function tracePicture(r: TraceResult, ctx: WordsContext): Picture {
  const b = new Builder(ctx);
  const p = r.packet;
  const dst = p.dst.includes(':') ? `[${p.dst}]:${p.dport}` : `${p.dst}:${p.dport}`;
  const entry = b.node('entry', `${p.protocol.toUpperCase()} ${p.src} -> ${dst}`, 'entry');
  b.add(r, entry, r.entry, true);
  return b.picture(`${p.protocol.toUpperCase()} ${p.src} -> ${dst}`);
}
