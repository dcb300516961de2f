// The nftables pair reader (src/diff/nftables-pair.ts) leaves out the service ports whose lines
// are the same on both sides. It is an optimization and nothing else: for any two rule files,
// the diff must be exactly the one of reading both in full. Checked on generated clusters, across
// releases (whose shape test reads rules the pair reader leaves out) and under random line edits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import { DEFAULT_OPTIONS } from '../src/model/options.js';
import { compileNftables } from '../src/backends/nftables/compile.js';
import { emitNftables } from '../src/emit/nftables.js';
import { compareSides, type SideInfo } from '../src/diff/compare.js';
import { formatJson } from '../src/diff/format/json.js';
import { formatText } from '../src/diff/format/text.js';
import { nftablesSide } from '../src/diff/nftables.js';
import { readNftablesPair } from '../src/parse/nftables-pair.js';
import { newReadContext, rulesSidesPair } from '../src/diff/sides.js';
import { parseNftables } from '../src/parse/nftables.js';
import { detectNftRelease } from '../src/kubeproxy/detect.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktables-diff-nft-pair-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Tweak {
  endpointShift?: number;
  endpoints?: number;
  nodePort?: boolean;
  udp?: boolean;
  affinity?: boolean;
  gone?: boolean;
  clusterIP?: string;
}

interface Shape {
  services: number;
  endpoints: number;
  tweak?: (i: number) => Tweak | undefined;
  version?: { major: number; minor: number };
}

function cluster(s: Shape): string {
  const docs: string[] = [];
  for (let i = 0; i < s.services; i++) {
    const t = s.tweak?.(i) ?? {};
    if (t.gone) continue;
    const lb = i % 7 === 0;
    const type = lb ? 'LoadBalancer' : t.nodePort || i % 5 === 0 ? 'NodePort' : 'ClusterIP';
    let svc = `apiVersion: v1\nkind: Service\nmetadata: {name: svc${i}, namespace: ns${i % 4}}\nspec:\n  type: ${type}\n  clusterIP: ${t.clusterIP ?? `10.96.${i >> 8}.${i & 255}`}\n`;
    if (type !== 'ClusterIP') svc += `  externalTrafficPolicy: ${i % 3 === 0 ? 'Local' : 'Cluster'}\n`;
    if (lb && i % 2 === 0) svc += '  loadBalancerSourceRanges: [203.0.113.0/24]\n';
    if (t.affinity) svc += '  sessionAffinity: ClientIP\n';
    const nodePort = type !== 'ClusterIP' ? `, nodePort: ${30000 + i}` : '';
    svc += `  ports: [{name: p, port: 80, protocol: ${t.udp ? 'UDP' : 'TCP'}${nodePort}}, {name: q, port: 443${nodePort ? `, nodePort: ${31000 + i}` : ''}}]\n`;
    if (lb) svc += `status: {loadBalancer: {ingress: [{ip: 198.51.${i >> 8}.${i & 255}}]}}\n`;
    docs.push(svc);
    let slice = `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc${i}-x, namespace: ns${i % 4}, labels: {kubernetes.io/service-name: svc${i}}}\naddressType: IPv4\nendpoints:\n`;
    const count = t.endpoints ?? (i % 6 === 1 ? 1 : s.endpoints);
    for (let e = 0; e < count; e++) {
      const n = i * s.endpoints + e + (e === 0 ? (t.endpointShift ?? 0) : 0);
      slice += `- {addresses: [10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}], nodeName: node-${n % 3}}\n`;
    }
    if (count === 0) slice = slice.replace(/endpoints:\n$/, 'endpoints: []\n');
    slice += `ports: [{name: p, port: 8080, protocol: ${t.udp ? 'UDP' : 'TCP'}}, {name: q, port: 8443}]\n`;
    docs.push(slice);
  }
  return docs.join('---\n');
}

let files = 0;
function compile(s: Shape): string {
  const file = join(tmp, `c${files++}.yaml`);
  writeFileSync(file, cluster(s));
  const opts = {
    ...DEFAULT_OPTIONS,
    proxyMode: 'nftables' as const,
    hostnameOverride: 'node-0',
    nodeIPs: ['192.168.0.10'],
    clusterCIDRs: ['10.0.0.0/8'],
    ...(s.version && { kubeProxyVersion: s.version }),
  };
  return emitNftables(
    compileNftables(
      buildModel(
        loadInventory([file], () => ''),
        opts,
      ),
    ),
  );
}

const info: SideInfo = { source: 'x', input: 'nftables-rules', backend: 'nftables', family: 'ipv4' };

function expectSame(a: string, b: string, opts: { pair?: boolean } = {}): { services: { name: string }[]; identical: boolean } {
  const format = (x: ReturnType<typeof nftablesSide>, y: ReturnType<typeof nftablesSide>) => {
    const r = compareSides(x, y, { old: info, new: info }, { context: 3, acrossReleases: true });
    return `${formatJson(r, { stat: false })}\n${formatText(r, { color: false, stat: false })}`;
  };
  const full = format(nftablesSide(parseNftables(a), 'ipv4'), nftablesSide(parseNftables(b), 'ipv4'));
  const [x, y] = rulesSidesPair('nftables', a, b, newReadContext(), ['ipv4', 'ipv4']);
  expect(format(x, y)).toBe(full);
  if (opts.pair !== false) expect(readNftablesPair(a, b, ['ipv4', 'ipv4'])).toBeDefined();
  return JSON.parse(full.slice(0, full.indexOf('\n}\n') + 2)) as { services: { name: string }[]; identical: boolean };
}

const shape: Shape = { services: 60, endpoints: 3 };
const base = compile(shape);

describe('nftables pair reader = full reader', () => {
  it('on service changes of every kind', () => {
    const tweak = (i: number): Tweak | undefined =>
      ({
        3: { endpointShift: 5000 },
        11: { nodePort: true },
        14: { affinity: true },
        21: { udp: true },
        28: { gone: true },
        33: { endpoints: 0 },
        40: { clusterIP: '10.96.9.9' },
        43: { endpoints: 1 },
      })[i];
    const d = expectSame(base, compile({ ...shape, tweak }));
    expect(d.services.length).toBeGreaterThanOrEqual(8);
  });

  it('when nothing differs', () => {
    expect(expectSame(base, base).identical).toBe(true);
  });

  it('across releases (the shape test reads rules of unchanged ports)', () => {
    for (const minor of [35, 36]) {
      const older = compile({ ...shape, version: { major: 1, minor } });
      expectSame(older, base);
      expectSame(base, older);
      expectSame(older, compile({ ...shape, version: { major: 1, minor }, tweak: (i) => (i === 5 ? { endpointShift: 900 } : undefined) }));
    }
  });

  it('reads the release from the whole text, rules left out included', () => {
    for (const minor of [35, 36, 37]) {
      const text = compile({ ...shape, version: { major: 1, minor } });
      const table = parseNftables(text).tables.find((t) => t.name === 'kube-proxy')!;
      const pair = readNftablesPair(text, text, ['ipv4', 'ipv4'])!;
      expect(pair[0].unchanged.size).toBeGreaterThan(100);
      expect(pair[0].release).toBe(detectNftRelease(table));
      expect(pair[0].release).toBeDefined();
    }
  });

  it('leaves out the affinity set of an unchanged port with its elements', () => {
    const withAffinity = (endpointShift: number) =>
      compile({ ...shape, tweak: (i) => (i === 14 ? { affinity: true } : i === 3 ? { endpointShift } : undefined) });
    const addElement = (text: string) => {
      const set = /^add set ip kube-proxy (affinity-\S+)/m.exec(text)![1]!;
      return `${text}add element ip kube-proxy ${set} { 10.1.2.3 }\n`;
    };
    const [a, b] = [addElement(withAffinity(0)), addElement(withAffinity(700))];
    const d = expectSame(a, b);
    expect(d.services.map((x) => x.name)).toEqual(['ns3/svc3:p', 'ns3/svc3:q']);
    const pair = readNftablesPair(a, b, ['ipv4', 'ipv4'])!;
    expect(pair[0].unchanged.has('ns2/svc14:p')).toBe(true);
  });

  it('falls back to the full reader for a listing', () => {
    const listing = 'table ip kube-proxy {\n\tchain services {\n\t}\n}\n';
    expect(readNftablesPair(listing, base, ['ipv4', 'ipv4'])).toBeUndefined();
  });

  it('under random line edits', () => {
    const lines = base.split('\n');
    const edit = fc.array(fc.record({ op: fc.constantFrom('delete', 'swap', 'duplicate', 'retarget'), at: fc.nat(lines.length - 3) }), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(edit, (edits) => {
        const out = [...lines];
        for (const e of edits) {
          const i = e.at + 1;
          if (e.op === 'delete' && !/^add (table|chain|set|map)/.test(out[i]!)) out[i] = '';
          else if (e.op === 'duplicate' && out[i]!.startsWith('add rule')) out[i] = `${out[i]}\n${out[i]}`;
          else if (e.op === 'retarget') out[i] = out[i]!.replace(/goto (service|external)-/, 'goto local-');
          else if (e.op === 'swap' && out[i + 1]?.split(' ')[4] === out[i]!.split(' ')[4] && out[i]!.startsWith('add rule'))
            [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
        }
        const edited = out.join('\n');
        try {
          parseNftables(edited);
        } catch {
          return;
        }
        expectSame(base, edited, { pair: false });
        expectSame(edited, base, { pair: false });
      }),
      { numRuns: 40 },
    );
  });
});
