#!/usr/bin/env node
// Benchmark of `ktables diff`: two rule sets of 10,000 Services (x 10 endpoints each by
// default: a large cluster, so kube-proxy leaves comments off endpoint rules) that differ in
// exactly 10 service ports: 3 endpoint changes, 2 new NodePorts, 2 session affinities, 1 loss
// of all endpoints, 1 Service removed and 1 added. The rule sets are compiled by
// ktables itself and kept under bench-data/ (git-ignored); nothing generated is committed.
//
//   node scripts/bench-diff.mjs            (npm run bench runs it after the compile bench)
//   BENCH_SERVICES=10000 BENCH_ENDPOINTS=2 node scripts/bench-diff.mjs
//
// Prints, for iptables and for nftables rule texts, the time of the diff in process (read +
// normalize + compare + text output) and of the CLI end to end as a user runs it (`ktables diff
// old new --exit-code`, node start included; target: under a second).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = Number(process.env.BENCH_SERVICES ?? 10000);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 10);
const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;

// The service ports that differ, by index; the tenth is a Service only the new side has.
const ROLE = ['endpoints', 'endpoints', 'endpoints', 'nodePort', 'nodePort', 'affinity', 'affinity', 'noEndpoints', 'removed'];
const step = Math.floor(SERVICES / ROLE.length);
const CHANGED = ROLE.map((_, k) => k * step + 7);

function cluster(variant) {
  const docs = [];
  const count = variant === 'new' ? SERVICES + 1 : SERVICES;
  for (let i = 0; i < count; i++) {
    const role = variant === 'new' ? ROLE[CHANGED.indexOf(i)] : undefined;
    if (role === 'removed') continue;
    const ns = `ns${i % 50}`;
    const name = `svc${i}`;
    const ip = `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    let kind = i % 20 === 0 ? 'LoadBalancer' : i % 10 === 0 ? 'NodePort' : 'ClusterIP';
    if (role === 'nodePort') kind = 'NodePort';
    let svc = `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  type: ${kind}\n  clusterIP: ${ip}\n`;
    if (kind !== 'ClusterIP') svc += `  externalTrafficPolicy: ${i % 40 === 0 || role === 'etpLocal' ? 'Local' : 'Cluster'}\n`;
    if (role === 'affinity') svc += '  sessionAffinity: ClientIP\n';
    const nodePort = kind !== 'ClusterIP' ? `, nodePort: ${30000 + (i % 2700)}` : '';
    svc += `  ports: [{name: http, port: 80${nodePort}}]\n`;
    if (kind === 'LoadBalancer') svc += `status: {loadBalancer: {ingress: [{ip: 198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}}]}}\n`;
    docs.push(svc);
    let slice = `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${name}-abcde\n  namespace: ${ns}\n  labels: {kubernetes.io/service-name: ${name}}\naddressType: IPv4\nendpoints:\n`;
    for (let e = 0; e < (role === 'noEndpoints' ? 0 : ENDPOINTS); e++) {
      const n = i * ENDPOINTS + e + (role === 'endpoints' && e === 0 ? 7_000_000 : 0);
      slice += `- {addresses: [10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}], nodeName: node-${n % 7}}\n`;
    }
    if (role === 'noEndpoints') slice = slice.replace(/endpoints:\n$/, 'endpoints: []\n');
    slice += 'ports: [{name: http, port: 8080}]\n';
    docs.push(slice);
  }
  return docs.join('---\n');
}

/** The two rule texts with extension `ext` (`rules`: iptables, `nft`: nftables), compiled once and kept. */
async function ruleSets(dir, ext) {
  const files = {
    old: join(dir, `diff-v2-${SERVICES}x${ENDPOINTS}-old.${ext}`),
    new: join(dir, `diff-v2-${SERVICES}x${ENDPOINTS}-new.${ext}`),
  };
  if (existsSync(files.old) && existsSync(files.new)) return files;
  const { loadInventory } = await import(dist('input/load.js'));
  const { buildModel } = await import(dist('model/build.js'));
  const { DEFAULT_OPTIONS } = await import(dist('model/options.js'));
  const { compileIptables } = await import(dist('backends/iptables/compile.js'));
  const { emitIptables } = await import(dist('emit/iptables.js'));
  const { compileNftables } = await import(dist('backends/nftables/compile.js'));
  const { emitNftables } = await import(dist('emit/nftables.js'));
  const nft = ext === 'nft';
  const opts = {
    ...DEFAULT_OPTIONS,
    ...(nft && { proxyMode: 'nftables' }),
    hostnameOverride: 'node-0',
    nodeIPs: ['192.168.0.10'],
    clusterCIDRs: ['10.0.0.0/8'],
  };
  for (const variant of ['old', 'new']) {
    const yaml = join(dir, `diff-v2-${SERVICES}x${ENDPOINTS}-${variant}.yaml`);
    if (!existsSync(yaml)) writeFileSync(yaml, cluster(variant));
    const model = buildModel(
      loadInventory([yaml], () => ''),
      opts,
    );
    writeFileSync(files[variant], nft ? emitNftables(compileNftables(model)) : emitIptables(compileIptables(model)));
  }
  return files;
}

async function bench(dir, backend) {
  const files = await ruleSets(dir, backend === 'iptables' ? 'rules' : 'nft');
  const oldText = readFileSync(files.old, 'utf8');
  const newText = readFileSync(files.new, 'utf8');
  const rules = (t) => t.split('\n').filter((l) => (backend === 'iptables' ? l.startsWith('-A') : l.startsWith('add rule'))).length;

  const { newReadContext, rulesSidesPair } = await import(dist('diff/sides.js'));
  const { compareSides } = await import(dist('diff/compare.js'));
  const { formatText } = await import(dist('diff/format/text.js'));
  globalThis.gc?.();
  const times = {};
  const time = (label, fn) => {
    const t = process.hrtime.bigint();
    const v = fn();
    times[label] = Number(process.hrtime.bigint() - t) / 1e6;
    return v;
  };
  const t0 = process.hrtime.bigint();
  const ctx = newReadContext();
  const [a, b] = time('read both sides', () => rulesSidesPair(backend, oldText, newText, ctx));
  const info = (source) => ({ source, input: `${backend}-rules`, backend, family: 'ipv4' });
  const result = time('compare', () =>
    compareSides(a, b, { old: info(files.old), new: info(files.new) }, { context: 3, acrossReleases: true }),
  );
  const text = time('text output', () => formatText(result, { color: false, stat: false }));
  const total = Number(process.hrtime.bigint() - t0) / 1e6;

  const differ = result.services.map((s) => s.name);
  if (differ.length !== 10) throw new Error(`expected 10 differing service ports, got ${differ.length}: ${differ.join(', ')}`);

  console.log(
    `diff (${backend}): ${SERVICES} Services x ${ENDPOINTS} endpoints, ${rules(oldText)} vs ${rules(newText)} rules (${(oldText.length / 1e6).toFixed(1)} MB each), 10 service ports differ`,
  );
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(24)} ${v.toFixed(0).padStart(6)} ms`);
  console.log(`  ${'total in process'.padEnd(24)} ${total.toFixed(0).padStart(6)} ms   (${text.split('\n').length} lines of output)`);
  console.log(`  ${'peak RSS'.padEnd(24)} ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(6)} MB`);

  const runs = [];
  for (let k = 0; k < 3; k++) {
    const t1 = process.hrtime.bigint();
    const res = spawnSync(process.execPath, [join(root, 'bin', 'ktables'), 'diff', files.old, files.new, '--exit-code'], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    });
    runs.push(Number(process.hrtime.bigint() - t1) / 1e6);
    if (res.status !== 1) throw new Error(`ktables diff exited ${res.status}: ${res.stderr}`);
  }
  const best = Math.min(...runs);
  console.log(
    `  ${'CLI end to end (best/3)'.padEnd(24)} ${best.toFixed(0).padStart(6)} ms   (runs: ${runs.map((r) => r.toFixed(0)).join(', ')} ms; target < 1000 ms)`,
  );
}

async function main() {
  const dir = join(root, 'bench-data');
  mkdirSync(dir, { recursive: true });
  await bench(dir, 'iptables');
  await bench(dir, 'nftables');
}

await main();
