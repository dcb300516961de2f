#!/usr/bin/env node
// The nftables side of `npm run bench` (or alone after `npm run build`): the same generated
// cluster as scripts/bench.mjs (10,000 Services x 10 endpoints by default) compiled with
// --proxy-mode nftables, stage by stage; then reading the output back and tracing one packet,
// as `ktables trace --rules` does on a node's rule set.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clusterFile } from './bench.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = Number(process.env.BENCH_SERVICES ?? 10000);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 10);

const file = clusterFile(SERVICES, ENDPOINTS);

const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
const { loadInventory } = await import(dist('input/load.js'));
const { buildModel } = await import(dist('model/build.js'));
const { DEFAULT_OPTIONS } = await import(dist('model/options.js'));
const { compileNftables } = await import(dist('backends/nftables/compile.js'));
const { emitNftables } = await import(dist('emit/nftables.js'));
const { parseNftables } = await import(dist('parse/nftables.js'));
const { NftablesTracer } = await import(dist('trace/nftables.js'));

const opts = {
  ...DEFAULT_OPTIONS,
  proxyMode: 'nftables',
  hostnameOverride: 'node-0',
  nodeIPs: ['192.168.0.10'],
  clusterCIDRs: ['10.0.0.0/8'],
  serviceClusterIPRanges: ['10.96.0.0/12'],
};
const times = {};
const time = (label, fn) => {
  const t = process.hrtime.bigint();
  const v = fn();
  times[label] = Number(process.hrtime.bigint() - t) / 1e6;
  return v;
};
globalThis.gc?.();
const inv = time('read+parse+validate', () => loadInventory([file], () => ''));
const model = time('model', () => buildModel(inv, opts));
const rs = time('nftables backend', () => compileNftables(model));
const text = time('emit', () => emitNftables(rs));
const lines = text.split('\n');
const count = (prefix) => lines.filter((l) => l.startsWith(prefix)).length;
console.log(
  `compile (nftables): ${SERVICES} Services x ${ENDPOINTS} endpoints -> ${count('add chain ')} chains, ${count('add rule ')} rules, ${count('add element ')} elements, ${(text.length / 1e6).toFixed(1)} MB`,
);
for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(22)} ${v.toFixed(0).padStart(6)} ms`);
console.log(
  `  ${'compile (model→text)'.padEnd(22)} ${(times['model'] + times['nftables backend'] + times['emit']).toFixed(0).padStart(6)} ms`,
);

const parsed = time('parse (trace --rules)', () => parseNftables(text));
const tracer = time('index for trace', () => new NftablesTracer(parsed, { family: 'ipv4', addresses: ['192.168.0.10'] }));
const result = time('trace one packet', () => tracer.trace({ src: '10.244.1.1', dst: '10.96.39.15', dport: 80, protocol: 'tcp' }));
for (const k of ['parse (trace --rules)', 'index for trace', 'trace one packet'])
  console.log(`  ${k.padEnd(22)} ${times[k].toFixed(0).padStart(6)} ms`);
if (result.endpoints.length !== ENDPOINTS) throw new Error(`bench trace reached ${result.endpoints.length} endpoints, not ${ENDPOINTS}`);
console.log(`  peak RSS               ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(6)} MB`);

const t1 = process.hrtime.bigint();
const res = spawnSync(
  process.execPath,
  [
    join(root, 'bin', 'ktables'),
    'compile',
    '--proxy-mode',
    'nftables',
    '--hostname-override',
    'node-0',
    '--node-ip',
    '192.168.0.10',
    '--cluster-cidr',
    '10.0.0.0/8',
    '--service-cluster-ip-range',
    '10.96.0.0/12',
    file,
    '-o',
    join(dirname(file), 'out.nft'),
  ],
  { encoding: 'utf8' },
);
if (res.status !== 0) throw new Error(res.stderr);
console.log(`  ${'CLI end to end'.padEnd(22)} ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(0).padStart(6)} ms`);
