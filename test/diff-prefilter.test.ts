// The pair reader (src/diff/prefilter.ts) reads only what can differ. It is an optimization
// and nothing else: for any two rule files, the diff must be exactly the one of reading both
// in full. Checked here on generated clusters, the edits that stress it (endpoint chains
// without comments, stale chains, hash changes, respelled dumps) and random line edits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import { DEFAULT_OPTIONS } from '../src/model/options.js';
import { compileIptables } from '../src/backends/iptables/compile.js';
import { emitIptables } from '../src/emit/iptables.js';
import { compareSides, type SideInfo } from '../src/diff/compare.js';
import { formatJson } from '../src/diff/format/json.js';
import { iptablesSide } from '../src/diff/iptables.js';
import { readIptablesPair } from '../src/diff/prefilter.js';
import { newRuleCache, readIptablesRules } from '../src/parse/chain-cache.js';
import { newDiffRun } from '../src/diff/run.js';
import { hashPrefix } from '../src/util/hash.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktables-diff-prefilter-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Shape {
  services: number;
  endpoints: number;
  /** Per service index: what to change. */
  tweak?: (i: number) => { endpointShift?: number; nodePort?: boolean; udp?: boolean; affinity?: boolean; gone?: boolean } | undefined;
  flags?: Partial<typeof DEFAULT_OPTIONS>;
}

function cluster(s: Shape): string {
  const docs: string[] = [];
  for (let i = 0; i < s.services; i++) {
    const t = s.tweak?.(i) ?? {};
    if (t.gone) continue;
    const lb = i % 7 === 0;
    const type = lb ? 'LoadBalancer' : t.nodePort || i % 5 === 0 ? 'NodePort' : 'ClusterIP';
    let svc = `apiVersion: v1\nkind: Service\nmetadata: {name: svc${i}, namespace: ns${i % 4}}\nspec:\n  type: ${type}\n  clusterIP: 10.96.${i >> 8}.${i & 255}\n`;
    if (type !== 'ClusterIP') svc += `  externalTrafficPolicy: ${i % 3 === 0 ? 'Local' : 'Cluster'}\n`;
    if (lb && i % 2 === 0) svc += '  loadBalancerSourceRanges: [203.0.113.0/24]\n';
    if (t.affinity) svc += '  sessionAffinity: ClientIP\n';
    svc += `  ports: [{name: p, port: 80, protocol: ${t.udp ? 'UDP' : 'TCP'}${type !== 'ClusterIP' ? `, nodePort: ${30000 + i}` : ''}}]\n`;
    if (lb) svc += `status: {loadBalancer: {ingress: [{ip: 198.51.${i >> 8}.${i & 255}}]}}\n`;
    docs.push(svc);
    let slice = `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc${i}-x, namespace: ns${i % 4}, labels: {kubernetes.io/service-name: svc${i}}}\naddressType: IPv4\nendpoints:\n`;
    for (let e = 0; e < s.endpoints; e++) {
      const n = i * s.endpoints + e + (e === 0 ? (t.endpointShift ?? 0) : 0);
      slice += `- {addresses: [10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}], nodeName: node-${n % 3}}\n`;
    }
    slice += `ports: [{name: p, port: 8080, protocol: ${t.udp ? 'UDP' : 'TCP'}}]\n`;
    docs.push(slice);
  }
  return docs.join('---\n');
}

let files = 0;
function compile(s: Shape): string {
  const file = join(tmp, `c${files++}.yaml`);
  writeFileSync(file, cluster(s));
  const opts = { ...DEFAULT_OPTIONS, hostnameOverride: 'node-0', nodeIPs: ['192.168.0.10'], clusterCIDRs: ['10.0.0.0/8'], ...s.flags };
  return emitIptables(
    compileIptables(
      buildModel(
        loadInventory([file], () => ''),
        opts,
      ),
    ),
  );
}

const info: SideInfo = { source: 'x', input: 'iptables-rules', backend: 'iptables', family: 'ipv4' };

function both(a: string, b: string): { full: string; pair: string } {
  const run = (read: () => [ReturnType<typeof readIptablesRules>, ReturnType<typeof readIptablesRules>]) => {
    const [x, y] = read();
    return formatJson(compareSides(iptablesSide(x), iptablesSide(y), { old: info, new: info }, { context: 3 }), { stat: false });
  };
  const cache = newDiffRun();
  const full = run(() => [readIptablesRules(a, 'ipv4', newRuleCache()), readIptablesRules(b, 'ipv4', newRuleCache())]);
  const pair = run(() => readIptablesPair(a, b, ['ipv4', 'ipv4'], cache));
  return { full, pair };
}

function expectSame(a: string, b: string): unknown {
  const { full, pair } = both(a, b);
  expect(pair).toBe(full);
  return JSON.parse(full);
}

const small: Shape = { services: 60, endpoints: 3 };
// More than 1000 endpoints: kube-proxy leaves the comments off endpoint rules.
const large: Shape = { services: 110, endpoints: 10 };
const base = compile(small);
const baseLarge = compile(large);

describe('pair reader = full reader', () => {
  it('on service changes of every kind, with and without endpoint comments', () => {
    const tweak = (i: number) =>
      i === 3
        ? { endpointShift: 5000 }
        : i === 11
          ? { nodePort: true }
          : i === 14
            ? { affinity: true }
            : i === 21
              ? { udp: true }
              : i === 28
                ? { gone: true }
                : undefined;
    const d1 = expectSame(base, compile({ ...small, tweak })) as { services: unknown[] };
    expect(d1.services.length).toBe(5);
    const d2 = expectSame(baseLarge, compile({ ...large, tweak })) as { services: unknown[] };
    expect(d2.services.length).toBe(5);
  });

  it('when nothing differs, and when the flags change only node-wide rules', () => {
    expect((expectSame(base, base) as { identical: boolean }).identical).toBe(true);
    expectSame(base, compile({ ...small, flags: { masqueradeBit: 15, randomFully: false } }));
  });

  it('when every line is spelled differently (a dump against a compile)', () => {
    const respelled = base.replace(/ -d (\d+\.\d+\.\d+\.\d+) /g, ' -d $1/32 ').replace(/--probability (0\.\d+)/g, '--probability $10');
    expect((expectSame(base, respelled) as { identical: boolean }).identical).toBe(true);
  });

  it('for a respelled dump against a compile that changed', () => {
    const respelled = baseLarge
      .replace(/ -([sd]) (\d+\.\d+\.\d+\.\d+) /g, ' -$1 $2/32 ')
      .replace(/--probability (0\.\d+)/g, '--probability $10')
      .replace(/-j MARK --or-mark 0x00004000/, '-j MARK --set-xmark 0x4000/0x4000');
    const tweak = (i: number) => (i === 5 ? { endpointShift: 9000 } : i === 12 ? { affinity: true } : undefined);
    const d = expectSame(respelled, compile({ ...large, tweak })) as { services: { name: string }[] };
    expect(d.services.map((x) => x.name)).toEqual(['ns0/svc12:p', 'ns1/svc5:p']);
  });

  it('when a large cluster crosses the comment threshold (every endpoint chain changes text)', () => {
    const bare = baseLarge.replace(
      /^(-A KUBE-(?:SEP|SVC)-\S+) -m comment --comment (?:"[^"]*"|\S+)( .* -j KUBE-(?:SEP|MARK-MASQ)\S*| -s .*| -m .*DNAT.*)$/gm,
      '$1$2',
    );
    expect(bare).not.toBe(baseLarge);
    expectSame(baseLarge, bare);
  });

  it('for an endpoint chain changed in place, with no comment and an unchanged service chain', () => {
    const m = /^-A (KUBE-SEP-\S+) -m tcp -p tcp -j DNAT --to-destination (\S+):8080$/m.exec(baseLarge)!;
    const edited = baseLarge.replace(m[0], m[0].replace(':8080', ':9090'));
    const d = expectSame(baseLarge, edited) as { services: { name: string }[] };
    expect(d.services.length).toBe(1);
  });

  it('for stale chains nothing jumps to, found by their hash', () => {
    const ep = '10.9.9.9:8080';
    const sep = `KUBE-SEP-${hashPrefix(`ns3/svc3:ptcp${ep}`, 16)}`;
    const stale = baseLarge
      .replace('*nat\n', `*nat\n:${sep} - [0:0]\n`)
      .replace(
        /\nCOMMIT\n$/,
        `\n-A ${sep} -s 10.9.9.9 -j KUBE-MARK-MASQ\n-A ${sep} -m tcp -p tcp -j DNAT --to-destination ${ep}\nCOMMIT\n`,
      );
    const d = expectSame(baseLarge, stale) as { services: { name: string }[] };
    expect(d.services.map((s) => s.name)).toEqual(['ns3/svc3:p']);
  });

  it('for a stale chain on both sides: its service port is counted, though nothing jumps to it', () => {
    const sep = `KUBE-SEP-${hashPrefix('ns9/gone:ptcp10.8.8.8:8080', 16)}`;
    const stale = baseLarge
      .replace('*nat\n', `*nat\n:${sep} - [0:0]\n`)
      .replace(/\nCOMMIT\n$/, `\n-A ${sep} -m comment --comment ns9/gone:p -m tcp -p tcp -j DNAT --to-destination 10.8.8.8:8080\nCOMMIT\n`);
    const counted = (d: unknown) => (d as { totals: { servicePorts: { unchanged: number } } }).totals.servicePorts.unchanged;
    expect(counted(expectSame(stale, stale))).toBe(counted(expectSame(baseLarge, baseLarge)) + 1);
  });

  it('for dumps with counters and CRLF line ends', () => {
    const counters = baseLarge.replace(/^-A /gm, '[3:180] -A ').replace(/^(:\S+ \S+) \[0:0\]$/gm, '$1 [7:420]');
    const crlf = compile({ ...large, tweak: (i) => (i === 9 ? { endpointShift: 7000 } : undefined) }).replace(/\n/g, '\r\n');
    const d = expectSame(counters, crlf) as { services: { name: string }[] };
    expect(d.services.map((x) => x.name)).toEqual(['ns1/svc9:p']);
  });

  it('for a service port only in unchanged chains nothing jumps to, and text the parser warns about', () => {
    // An endpoint chain left over from a deleted Service (nothing jumps to it), the same on both
    // sides: its own comment names the port, which counts as compared and unchanged.
    const sep = `KUBE-SEP-${hashPrefix('gone/old:ptcp10.8.8.8:80', 16)}`;
    const leftover = base
      .replace('*nat\n', `*nat\n:${sep} - [0:0]\n`)
      .replace(/\nCOMMIT\n$/, `\n-A ${sep} -m comment --comment "gone/old:p" -m tcp -p tcp -j DNAT --to-destination 10.8.8.8:80\nCOMMIT\n`);
    const same = expectSame(leftover, leftover) as { totals: { servicePorts: { compared: number; unchanged: number } } };
    expect(same.totals.servicePorts.unchanged).toBe(same.totals.servicePorts.compared);
    expect(same.totals.servicePorts.compared).toBe((expectSame(base, base) as typeof same).totals.servicePorts.compared + 1);
    // Cut short (no COMMIT): read as far as it goes, the same way by both readers.
    const cut = leftover.slice(0, leftover.lastIndexOf('\nCOMMIT'));
    expectSame(cut, leftover);
    expectSame(leftover, cut);
  });

  it('under random line edits', () => {
    const lines = base.split('\n');
    const rules = lines.map((l, i) => (l.startsWith('-A ') ? i : -1)).filter((i) => i >= 0);
    const edit = fc.array(fc.record({ op: fc.constantFrom('delete', 'swap', 'duplicate'), at: fc.nat(rules.length - 2) }), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(edit, (edits) => {
        const out = [...lines];
        for (const e of edits) {
          const i = rules[e.at]!;
          if (e.op === 'delete') out[i] = '';
          else if (e.op === 'duplicate') out[i] = `${out[i]}\n${out[i]}`;
          else if (out[i + 1]?.split(' ')[1] === out[i]!.split(' ')[1]) [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
        }
        expectSame(base, out.join('\n'));
      }),
      { numRuns: 60 },
    );
  });
});
