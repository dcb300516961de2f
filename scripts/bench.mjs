#!/usr/bin/env node
// npm run bench: compile a generated cluster of 10,000 Services x 10 endpoints and report the
// time of each stage and the peak memory. The data is generated into bench-data/ (git-ignored).
// Then runs every scripts/bench-*.mjs (trace, diff, nftables ...).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = Number(process.env.BENCH_SERVICES ?? 10000);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 10);

export function generateCluster(services, endpoints) {
  const docs = [];
  for (let i = 0; i < services; i++) {
    const ns = `ns${i % 50}`;
    const name = `svc${i}`;
    const ip = `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const kind = i % 20 === 0 ? 'LoadBalancer' : i % 10 === 0 ? 'NodePort' : 'ClusterIP';
    let svc = `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  type: ${kind}\n  clusterIP: ${ip}\n`;
    if (kind !== 'ClusterIP') svc += `  externalTrafficPolicy: ${i % 40 === 0 ? 'Local' : 'Cluster'}\n`;
    if (kind === 'LoadBalancer' && i % 40 === 0) svc += `  healthCheckNodePort: ${32000 + (i % 700)}\n`;
    svc += `  ports: [{name: http, port: 80${kind !== 'ClusterIP' ? `, nodePort: ${30000 + (i % 2700)}` : ''}}]\n`;
    if (kind === 'LoadBalancer') svc += `status: {loadBalancer: {ingress: [{ip: 198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}}]}}\n`;
    docs.push(svc);
    let slice = `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${name}-abcde\n  namespace: ${ns}\n  labels: {kubernetes.io/service-name: ${name}}\naddressType: IPv4\nendpoints:\n`;
    for (let e = 0; e < endpoints; e++) {
      const n = i * endpoints + e;
      slice += `- {addresses: [10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}], nodeName: node-${n % 7}}\n`;
    }
    slice += 'ports: [{name: http, port: 8080}]\n';
    docs.push(slice);
  }
  return docs.join('---\n');
}

/** The generated cluster's manifest file under bench-data/ (git-ignored), made once. */
export function clusterFile(services = SERVICES, endpoints = ENDPOINTS) {
  const dir = join(root, 'bench-data');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-${services}x${endpoints}.yaml`);
  if (!existsSync(file)) writeFileSync(file, generateCluster(services, endpoints));
  return file;
}

async function main() {
  const dir = join(root, 'bench-data');
  const file = clusterFile();

  const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
  const { loadInventory } = await import(dist('input/load.js'));
  const { buildModel } = await import(dist('model/build.js'));
  const { DEFAULT_OPTIONS } = await import(dist('model/options.js'));
  const { compileIptables } = await import(dist('backends/iptables/compile.js'));
  const { emitIptables } = await import(dist('emit/iptables.js'));

  const opts = { ...DEFAULT_OPTIONS, hostnameOverride: 'node-0', nodeIPs: ['192.168.0.10'], clusterCIDRs: ['10.0.0.0/8'] };
  const times = {};
  const time = (label, fn) => {
    const t = process.hrtime.bigint();
    const v = fn();
    times[label] = Number(process.hrtime.bigint() - t) / 1e6;
    return v;
  };
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  const inv = time('read+parse+validate', () => loadInventory([file], () => ''));
  const model = time('model', () => buildModel(inv, opts));
  const rs = time('iptables backend', () => compileIptables(model));
  const text = time('emit', () => emitIptables(rs));
  const total = Number(process.hrtime.bigint() - t0) / 1e6;
  const rules = text.split('\n').filter((l) => l.startsWith('-A')).length;
  console.log(`compile (iptables): ${SERVICES} Services x ${ENDPOINTS} endpoints -> ${rules} rules, ${(text.length / 1e6).toFixed(1)} MB`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(22)} ${v.toFixed(0).padStart(6)} ms`);
  console.log(`  ${'total'.padEnd(22)} ${total.toFixed(0).padStart(6)} ms`);
  console.log(`  ${'compile (model→text)'.padEnd(22)} ${(times['model'] + times['iptables backend'] + times['emit']).toFixed(0).padStart(6)} ms`);
  console.log(`  peak RSS               ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(6)} MB`);

  // The CLI end to end, as a user runs it.
  const t1 = process.hrtime.bigint();
  const res = spawnSync(process.execPath, [join(root, 'bin', 'ktables'), 'compile', '--hostname-override', 'node-0', '--cluster-cidr', '10.0.0.0/8', file, '-o', join(dir, 'out.rules')], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(res.stderr);
  console.log(`  ${'CLI end to end'.padEnd(22)} ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(0).padStart(6)} ms`);

  for (const f of readdirSync(join(root, 'scripts')).sort()) {
    if (!/^bench-.*\.mjs$/.test(f)) continue;
    console.log('');
    const r = spawnSync(process.execPath, ['--expose-gc', join(root, 'scripts', f)], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
