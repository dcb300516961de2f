// Property tests with hostile input (issue 12). The invariant, for every input: the pipeline
// either compiles (and iptables-restore --test / nft -c accept a sample of the outputs) or
// throws a KtablesError with exit 2 whose problems name the file; never anything else (which the
// CLI would report as an internal error, exit 70). `npm run fuzz` runs 10,000 cases per property
// (FUZZ_RUNS); `npm test` runs a few hundred.
import fc from 'fast-check';
import yaml from 'js-yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, KtablesError, formatProblem } from '../src/errors.js';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import { DEFAULT_OPTIONS, type ProxyOptions } from '../src/model/options.js';
import { compileIptables } from '../src/backends/iptables/compile.js';
import { compileNftables } from '../src/backends/nftables/compile.js';
import { emitIptables } from '../src/emit/iptables.js';
import { emitNftables } from '../src/emit/nftables.js';
import { parseIptables } from '../src/parse/iptables.js';
import { parseNftables } from '../src/parse/nftables.js';
import { ROOT } from './helpers/cases.js';
import { ruleChecker } from './helpers/rule-check.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);
// A fresh seed per run, printed first: a crash that kills the worker (out of memory) reports no
// counterexample, and FUZZ_SEED replays the run that found it.
const SEED = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : (Date.now() ^ (process.pid << 16)) | 0;
console.log(`fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
// Every Nth successful compile goes through the real tools (they are slow next to the compiler).
const CHECK_EVERY = Number(process.env['FUZZ_CHECK_EVERY'] ?? 10);
const TIMEOUT = Math.max(120_000, RUNS * 60);

const checker = ruleChecker();
afterAll(() => typeof checker !== 'string' && checker.close());

type Outcome = { ok: true; text: string; mode: 'iptables' | 'nftables'; family: 'ipv4' | 'ipv6' } | { ok: false; message: string };

/** The CLI's compile, in process: input -> model -> backend -> text. */
function compile(text: string, opts: Partial<ProxyOptions>): Outcome {
  const o: ProxyOptions = {
    ...DEFAULT_OPTIONS,
    hostnameOverride: 'worker-1',
    nodeIPs: ['172.18.0.3', 'fd00::3'],
    clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
    ...opts,
  };
  try {
    const inv = loadInventory(['-'], () => text, { allowEmpty: true });
    const model = buildModel(inv, o, []);
    const out = o.proxyMode === 'iptables' ? emitIptables(compileIptables(model)) : emitNftables(compileNftables(model));
    return { ok: true, text: out, mode: o.proxyMode, family: o.ipFamily };
  } catch (e) {
    if (!(e instanceof KtablesError))
      throw new Error(`not a KtablesError (the CLI would exit 70): ${(e as Error)?.stack ?? String(e)}`, { cause: e });
    if (e.exitCode !== 2) throw new Error(`exit ${e.exitCode}, expected 2: ${e.message}`, { cause: e });
    if (e instanceof InputError) {
      for (const p of e.problems) {
        if (!p.file) throw new Error(`a problem without a file: ${JSON.stringify(p)}`, { cause: e });
        // One line per problem: nothing in a message may break the line (values are escaped).
        if (/[\n\r]/.test(formatProblem(p))) throw new Error(`a message spans lines: ${JSON.stringify(formatProblem(p))}`, { cause: e });
      }
    }
    return { ok: false, message: e.message };
  }
}

let compiled = 0;
function judge(out: Outcome): void {
  if (!out.ok) return;
  if (typeof checker === 'string' || ++compiled % CHECK_EVERY !== 0) return;
  const res = out.mode === 'iptables' ? checker.iptables(out.text, out.family) : checker.nft(out.text);
  if (!res.ok) throw new Error(`${out.mode} refused the output: ${res.stderr}\n${out.text}`);
}

// --- arbitraries -------------------------------------------------------------------------

/** Strings a hostile user would try: control characters, quotes, rule syntax, huge ones. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '"',
    "'",
    '\\',
    '\n',
    '\r\n',
    '\t',
    '\0',
    '-j ACCEPT',
    '; reboot',
    '$(reboot)',
    '`id`',
    '#',
    '*',
    '+',
    '/',
    ':',
    '::',
    '.',
    '..',
    '10.0.0.1\n-A KUBE-SERVICES -j ACCEPT',
    'a"b',
    '0x4000',
    '.inf',
    '-.inf',
    '.nan',
    '1e309',
    'null',
    '~',
    'true',
    'yes',
    '0172.30.0.20',
    '::ffff:10.0.0.1',
    'fe80::1%eth0',
  ),
  fc.integer({ min: 1, max: 5 }).map((n) => 'x'.repeat(10 ** n)),
);
const weirdNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 65535, 65536, 2 ** 31, 2 ** 53, 1e308, Infinity, -Infinity, NaN, 0.5),
);
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    nasty,
    weirdNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(nasty, tie('value'), { maxKeys: 3 }),
  ),
})).value;

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));

/** The example cluster's objects, parsed: the valid starting point for mutations. */
const EXAMPLE = (yaml.loadAll(readFileSync(join(ROOT, 'examples', 'cluster.yaml'), 'utf8')) as Record<string, unknown>[]).filter(Boolean);

type Path = (string | number)[];
function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((c, i) => paths(c, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) paths(c, [...prefix, k], out);
  return out;
}
function getAt(root: unknown, p: Path): unknown {
  return p.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), root);
}
function setAt(root: unknown, p: Path, value: unknown, remove = false): unknown {
  if (p.length === 0) return value;
  const [k, ...rest] = p;
  const copy: Record<string | number, unknown> | unknown[] = Array.isArray(root) ? [...root] : { ...(root as Record<string, unknown>) };
  if (rest.length === 0 && remove) {
    if (Array.isArray(copy)) copy.splice(k as number, 1);
    else delete (copy as Record<string | number, unknown>)[k!];
  } else (copy as Record<string | number, unknown>)[k!] = setAt((root as Record<string | number, unknown>)[k!], rest, value, remove);
  return copy;
}

type Mutation = (docs: unknown[], pick: number, value: unknown, v4: string, v6: string) => unknown[];
const MUTATIONS: Record<string, Mutation> = {
  drop: (docs, pick) => {
    const all = docs.flatMap((d, i) =>
      paths(d)
        .filter((p) => p.length > 0)
        .map((p) => [i, p] as const),
    );
    const [i, p] = all[pick % all.length]!;
    return docs.map((d, j) => (j === i ? setAt(d, p, undefined, true) : d));
  },
  retype: (docs, pick, value) => {
    const all = docs.flatMap((d, i) => paths(d).map((p) => [i, p] as const));
    const [i, p] = all[pick % all.length]!;
    return docs.map((d, j) => (j === i ? setAt(d, p, value) : d));
  },
  duplicate: (docs, pick) => {
    const all = docs.flatMap((d, i) =>
      paths(d)
        .filter((p) => Array.isArray(getAt(d, p)) && (getAt(d, p) as unknown[]).length > 0)
        .map((p) => [i, p] as const),
    );
    if (all.length === 0) return docs;
    const [i, p] = all[pick % all.length]!;
    const arr = getAt(docs[i], p) as unknown[];
    return docs.map((d, j) => (j === i ? setAt(d, p, [...arr, arr[pick % arr.length]]) : d));
  },
  duplicateDocument: (docs, pick) => [...docs, docs[pick % docs.length]],
  swapFamilies: (docs, pick, _v, v4, v6) => {
    // Replace one address-looking string with an address of the other family (or another one).
    const all = docs.flatMap((d, i) =>
      paths(d)
        .filter((p) => typeof getAt(d, p) === 'string' && /^[0-9a-f:.]+$/.test(getAt(d, p) as string) && /[.:]/.test(getAt(d, p) as string))
        .map((p) => [i, p] as const),
    );
    if (all.length === 0) return docs;
    const [i, p] = all[pick % all.length]!;
    const old = getAt(docs[i], p) as string;
    return docs.map((d, j) => (j === i ? setAt(d, p, old.includes(':') ? v4 : v6) : d));
  },
  huge: (docs, pick) => {
    const all = docs.flatMap((d, i) =>
      paths(d)
        .filter((p) => typeof getAt(d, p) === 'number' || typeof getAt(d, p) === 'string')
        .map((p) => [i, p] as const),
    );
    const [i, p] = all[pick % all.length]!;
    const old = getAt(docs[i], p);
    // Bounded, so repeated steps cannot grow the input without end (the generator's memory, not ktables').
    return docs.map((d, j) => (j === i ? setAt(d, p, typeof old === 'number' ? old * 2 ** 40 : String(old).slice(0, 64).repeat(2000)) : d));
  },
};

const options = fc.record({
  proxyMode: fc.constantFrom('iptables', 'nftables') as fc.Arbitrary<'iptables' | 'nftables'>,
  ipFamily: fc.constantFrom('ipv4', 'ipv6') as fc.Arbitrary<'ipv4' | 'ipv6'>,
});

const serialize = (docs: unknown[], asJSON: boolean) =>
  asJSON
    ? JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs })
    : docs.map((d) => yaml.dump(d, { noRefs: true, lineWidth: -1 })).join('---\n');

const params = { numRuns: RUNS, seed: SEED };

describe('fuzz: hostile input never crashes the compiler', () => {
  it(
    'mutated valid manifests: drop, retype, duplicate, swap families, huge values',
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.constantFrom(...Object.keys(MUTATIONS)), fc.nat(), anyValue, ipv4, ipv6), { minLength: 1, maxLength: 4 }),
          options,
          fc.boolean(),
          (steps, opts, asJSON) => {
            let docs: unknown[] = EXAMPLE;
            for (const [name, pick, value, v4, v6] of steps) docs = MUTATIONS[name]!(docs, pick, value, v4, v6);
            judge(compile(serialize(docs, asJSON), opts));
          },
        ),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'generated objects with hostile field values',
    () => {
      const service = fc.record(
        {
          apiVersion: fc.oneof(fc.constant('v1'), fc.constant('discovery.k8s.io/v1'), anyValue),
          kind: fc.constantFrom('Service', 'EndpointSlice', 'Endpoints', 'Node', 'List'),
          metadata: fc.record(
            {
              name: fc.oneof(fc.constantFrom('web', 'a'), nasty),
              namespace: fc.oneof(fc.constant('default'), nasty),
              labels: fc.option(
                fc.dictionary(fc.oneof(fc.constant('kubernetes.io/service-name'), nasty), fc.oneof(fc.constant('web'), nasty), {
                  maxKeys: 2,
                }),
              ),
            },
            { requiredKeys: [] },
          ),
          spec: fc.record(
            {
              type: fc.oneof(fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'), nasty),
              clusterIP: fc.oneof(ipv4, ipv6, nasty),
              clusterIPs: fc.array(fc.oneof(ipv4, ipv6, fc.constant('None'), nasty), { maxLength: 3 }),
              ipFamilies: fc.array(fc.oneof(fc.constantFrom('IPv4', 'IPv6'), nasty), { maxLength: 3 }),
              ports: fc.array(
                fc.record(
                  {
                    name: fc.oneof(fc.constant('http'), nasty),
                    port: fc.oneof(fc.integer({ min: 1, max: 65535 }), weirdNumber, nasty),
                    nodePort: weirdNumber,
                    protocol: fc.oneof(fc.constantFrom('TCP', 'UDP', 'SCTP'), nasty),
                  },
                  { requiredKeys: ['port'] },
                ),
                { maxLength: 3 },
              ),
              externalIPs: fc.array(fc.oneof(ipv4, ipv6, nasty), { maxLength: 2 }),
              loadBalancerSourceRanges: fc.array(
                fc.oneof(
                  ipv4.map((a) => `${a}/24`),
                  nasty,
                ),
                { maxLength: 2 },
              ),
              sessionAffinity: fc.oneof(fc.constantFrom('None', 'ClientIP'), nasty),
              externalTrafficPolicy: fc.oneof(fc.constantFrom('Cluster', 'Local'), nasty),
              healthCheckNodePort: weirdNumber,
            },
            { requiredKeys: [] },
          ),
          addressType: fc.oneof(fc.constantFrom('IPv4', 'IPv6', 'FQDN'), nasty),
          endpoints: fc.array(
            fc.record(
              {
                addresses: fc.array(fc.oneof(ipv4, ipv6, nasty), { maxLength: 2 }),
                nodeName: fc.oneof(fc.constant('worker-1'), nasty),
                conditions: fc.dictionary(fc.constantFrom('ready', 'serving', 'terminating'), anyValue),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 2 },
          ),
          ports: fc.array(
            fc.record(
              { name: fc.oneof(fc.constant('http'), nasty), port: fc.oneof(fc.integer({ min: 1, max: 65535 }), weirdNumber, nasty) },
              { requiredKeys: [] },
            ),
            { maxLength: 2 },
          ),
          items: fc.array(anyValue, { maxLength: 2 }),
        },
        { requiredKeys: ['kind'] },
      );
      fc.assert(
        fc.property(fc.array(service, { minLength: 1, maxLength: 3 }), options, fc.boolean(), (docs, opts, asJSON) => {
          judge(compile(serialize(docs, asJSON), opts));
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'raw text: binary, YAML syntax fragments, anchors and aliases, deep nesting',
    () => {
      const fragment = fc.constantFrom(
        '---\n',
        '...\n',
        '%YAML 1.2\n',
        '%TAG ! tag:x:\n',
        'a: &a [1, 2]\n',
        'b: *a\n',
        '<<: *a\n',
        '*x\n',
        '&x\n',
        '[',
        ']',
        '{',
        '}',
        ': ',
        '- ',
        '"',
        "'",
        '|\n',
        '>\n',
        '? ',
        '!!binary ',
        '!!python/object ',
        'kind: Service\n',
        'apiVersion: v1\n',
        'metadata: {name: a}\n',
        'spec: {ports: [{port: 80}]}\n',
        '\t',
        '\0',
        '\ufeff',
        '#',
      );
      const text = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.array(fragment, { maxLength: 40 }).map((a) => a.join('')),
        fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('[', '{"a":', '- ', 'a:\n ')).map(([n, open]) => open.repeat(n)),
      );
      fc.assert(
        fc.property(text, options, (t, opts) => {
          judge(compile(t, opts));
        }),
        params,
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: rule files (trace --rules, diff) never crash the readers', () => {
  // Real outputs, cut anywhere and with hostile bytes spliced in: what a truncated download or
  // a hand edit gives. The readers must say what is wrong (a KtablesError), never crash.
  const example = readFileSync(join(ROOT, 'examples', 'cluster.yaml'), 'utf8');
  const texts = (['iptables', 'nftables'] as const).flatMap((mode) =>
    (['ipv4', 'ipv6'] as const).map((family) => {
      const out = compile(example, { proxyMode: mode, ipFamily: family });
      if (!out.ok) throw new Error(out.message);
      return { mode, family, text: out.text };
    }),
  );
  it(
    'truncated and spliced rule sets',
    () => {
      fc.assert(
        fc.property(
          fc.nat(texts.length - 1),
          fc.nat(),
          fc.nat(),
          fc.oneof(nasty, fc.constantFrom('{', '}', '"', '\n', ' ', ';', '-A', '*nat', 'COMMIT', 'chain x {', 'table ip kube-proxy {')),
          fc.boolean(),
          (which, cut, at, insert, truncate) => {
            const { mode, family, text } = texts[which]!;
            const a = cut % text.length;
            const b = at % text.length;
            const t = truncate ? text.slice(0, a) : text.slice(0, Math.min(a, b)) + insert + text.slice(Math.max(a, b));
            try {
              if (mode === 'iptables') parseIptables(t, family);
              else parseNftables(t);
            } catch (e) {
              if (!(e instanceof KtablesError) || e.exitCode !== 2)
                throw new Error(`${mode} reader crashed (exit 70 in the CLI): ${(e as Error)?.stack ?? String(e)}`, { cause: e });
            }
          },
        ),
        params,
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: the real tools were consulted', () => {
  it('at least one output went through iptables-restore --test or nft -c', () => {
    if (typeof checker === 'string') return void console.warn(`fuzz: rule tools skipped (${checker})`);
    expect(compiled).toBeGreaterThan(0);
  });
});
