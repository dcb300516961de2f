// Pictures as text: Mermaid flowcharts (GitHub renders them in Markdown) and Graphviz DOT.
import type { GraphNode, NodeKind, Picture } from './build.js';

/** Mermaid labels are quoted; a quote or an entity start would end or change them. */
const mermaidText = (t: string) => t.replace(/#/g, '#35;').replace(/"/g, '#quot;');

const MERMAID_SHAPE: Record<NodeKind, [string, string]> = {
  entry: ['([', '])'],
  chain: ['[', ']'],
  masq: ['{{', '}}'],
  endpoint: ['[(', ')]'],
  drop: ['((', '))'],
  reject: ['((', '))'],
  accept: ['((', '))'],
  none: ['>', ']'],
};

const CLASSES: [string, string][] = [
  ['entry', 'fill:#e8f0fe,stroke:#1a73e8'],
  ['masq', 'fill:#fff4e5,stroke:#e8710a'],
  ['endpoint', 'fill:#e6f4ea,stroke:#188038'],
  ['stop', 'fill:#fce8e6,stroke:#d93025'],
];
const classOf = (n: GraphNode) =>
  n.kind === 'drop' || n.kind === 'reject' ? 'stop' : n.kind === 'entry' || n.kind === 'masq' || n.kind === 'endpoint' ? n.kind : undefined;

export function toMermaid(p: Picture): string {
  const out = ['flowchart LR'];
  out.push(`  %% ${p.title.replace(/[\r\n]/g, ' ')}`);
  for (const n of p.nodes) {
    const [open, close] = MERMAID_SHAPE[n.kind];
    out.push(`  ${n.id}${open}"${mermaidText(n.label)}"${close}`);
  }
  for (const e of p.edges) {
    const arrow = e.dashed ? '-.->' : '-->';
    out.push(e.label ? `  ${e.from} ${arrow}|"${mermaidText(e.label)}"| ${e.to}` : `  ${e.from} ${arrow} ${e.to}`);
  }
  for (const [name, style] of CLASSES) {
    const ids = p.nodes.filter((n) => classOf(n) === name).map((n) => n.id);
    if (ids.length > 0) out.push(`  classDef ${name} ${style}`, `  class ${ids.join(',')} ${name}`);
  }
  return out.join('\n') + '\n';
}

const dotText = (t: string) =>
  `"${t
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/[\r\n]/g, ' ')}"`;

const DOT_SHAPE: Record<NodeKind, string> = {
  entry: 'shape=oval, style=filled, fillcolor="#e8f0fe"',
  chain: 'shape=box',
  masq: 'shape=hexagon, style=filled, fillcolor="#fff4e5"',
  endpoint: 'shape=cylinder, style=filled, fillcolor="#e6f4ea"',
  drop: 'shape=octagon, style=filled, fillcolor="#fce8e6"',
  reject: 'shape=octagon, style=filled, fillcolor="#fce8e6"',
  accept: 'shape=doublecircle',
  none: 'shape=note',
};

export function toDot(p: Picture): string {
  const out = [
    `digraph ${dotText(p.title)} {`,
    '  rankdir=LR;',
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
    `  label=${dotText(p.title)};`,
  ];
  for (const n of p.nodes) out.push(`  ${n.id} [label=${dotText(n.label)}, ${DOT_SHAPE[n.kind]}];`);
  for (const e of p.edges) {
    const attrs = [e.label ? `label=${dotText(e.label)}` : '', e.dashed ? 'style=dashed' : ''].filter(Boolean);
    out.push(`  ${e.from} -> ${e.to}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
