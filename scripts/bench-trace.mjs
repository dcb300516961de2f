#!/usr/bin/env node
// The iptables trace side of `npm run bench` (or alone after `npm run build`): the generated
// cluster of scripts/bench.mjs (10,000 Services x 10 endpoints by default) compiled to the
// iptables IR, then traced: the first packet (which indexes the long chains it walks), then
// many packets to random Services, as `ktables trace` and `trace --all` do; and the same on
// the compile output read back as text, as `ktables trace --rules` does on a node's dump.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clusterFile } from './bench.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = Number(process.env.BENCH_SERVICES ?? 10000);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 10);
const PACKETS = Number(process.env.BENCH_TRACE_PACKETS ?? 2000);

const file = clusterFile(SERVICES, ENDPOINTS);

const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
const { loadInventory } = await import(dist('input/load.js'));
const { buildModel } = await import(dist('model/build.js'));
const { DEFAULT_OPTIONS } = await import(dist('model/options.js'));
const { compileIptables } = await import(dist('backends/iptables/compile.js'));
const { emitIptables } = await import(dist('emit/iptables.js'));
const { parseIptables } = await import(dist('parse/iptables.js'));
const { IptablesTracer } = await import(dist('trace/iptables.js'));
const { serviceScenarios } = await import(dist('trace/scenarios.js'));

const NODE_IP = '192.168.0.10';
const opts = { ...DEFAULT_OPTIONS, hostnameOverride: 'node-0', nodeIPs: [NODE_IP], clusterCIDRs: ['10.0.0.0/8'] };
const node = { family: 'ipv4', addresses: [NODE_IP] };
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const time = (fn) => {
  const t = process.hrtime.bigint();
  const value = fn();
  return [value, ms(t)];
};
const fmt = (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(2)).padStart(8);
const line = (label, v, unit = 'ms') => console.log(`  ${label.padEnd(34)} ${fmt(v)} ${unit}`);

// The generator's addresses (scripts/bench.mjs).
const clusterIP = (i) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const lbIP = (i) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const POD = '10.250.0.1';
const EXTERNAL = '203.0.113.2';

globalThis.gc?.();
const inv = loadInventory([file], () => '');
const model = buildModel(inv, opts, []);
const [rs, tCompile] = time(() => compileIptables(model));
const rules = rs.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0);
console.log(`trace (iptables): ${SERVICES} Services x ${ENDPOINTS} endpoints, ${rules} rules`);
line('compile to IR (for reference)', tCompile);

function bench(label, tracer) {
  const [first, tFirst] = time(() => tracer.trace({ src: POD, dst: clusterIP(SERVICES - 1), dport: 80, protocol: 'tcp' }));
  if (first.endpoints.length !== ENDPOINTS)
    throw new Error(`${label}: first trace reached ${first.endpoints.length} endpoints, not ${ENDPOINTS}`);
  line(`${label}: first packet (indexes chains)`, tFirst);

  // Warm: many packets to random Services, the kinds `trace --all` sends.
  let seed = 42;
  const rnd = (n) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  const packets = [];
  for (let k = 0; k < PACKETS; k++) {
    const i = rnd(SERVICES);
    const kind = k % 4;
    if (kind === 0) packets.push({ src: POD, dst: clusterIP(i), dport: 80, protocol: 'tcp' });
    else if (kind === 1) packets.push({ src: EXTERNAL, dst: clusterIP(i), dport: 80, protocol: 'tcp' });
    else if (kind === 2) packets.push({ src: NODE_IP, dst: clusterIP(i), dport: 80, protocol: 'tcp' });
    else {
      const j = i - (i % 20); // a LoadBalancer Service (also has a NodePort)
      packets.push(
        k % 8 === 3
          ? { src: EXTERNAL, dst: lbIP(j), dport: 80, protocol: 'tcp' }
          : { src: EXTERNAL, dst: NODE_IP, dport: 30000 + (j % 2700), protocol: 'tcp' },
      );
    }
  }
  const times = [];
  let steps = 0;
  for (const p of packets) {
    const t = process.hrtime.bigint();
    const r = tracer.trace(p);
    times.push(ms(t));
    steps += r.path.length;
  }
  times.sort((a, b) => a - b);
  const sum = times.reduce((a, b) => a + b, 0);
  line(`${label}: ${PACKETS} packets, total`, sum);
  line(`${label}: per packet, median`, times[times.length >> 1]);
  line(`${label}: per packet, p99`, times[Math.floor(times.length * 0.99)]);
  line(`${label}: per packet, max`, times[times.length - 1]);
  line(`${label}: path steps per packet`, steps / PACKETS, '');
}

const [tracer, tIndex] = time(() => new IptablesTracer(rs, node));
line('IR: load tracer', tIndex);
bench('IR', tracer);

// `trace --all` on the whole cluster: every Service, every source, one table.
const { scenarios } = serviceScenarios(model);
const [, tAll] = time(() => {
  for (const s of scenarios) tracer.trace(s.packet, { path: false });
});
line(`--all: ${scenarios.length} packets`, tAll);

// As `--rules` on a node's dump: the text read back.
const [text, tEmit] = time(() => emitIptables(rs));
const [parsed, tParse] = time(() => parseIptables(text, 'ipv4'));
line(`emit text (${(text.length / 1e6).toFixed(1)} MB)`, tEmit);
line('parse text (--rules)', tParse);
const [fromText, tIndex2] = time(() => new IptablesTracer(parsed, node));
line('text: load tracer', tIndex2);
bench('text', fromText);
console.log(`  ${'peak RSS'.padEnd(34)} ${fmt(process.resourceUsage().maxRSS / 1024)} MB`);

// The CLI end to end, one packet, as a user runs it (compile included).
const t1 = process.hrtime.bigint();
const res = spawnSync(
  process.execPath,
  [
    join(root, 'bin', 'ktables'),
    'trace',
    '--hostname-override',
    'node-0',
    '--node-ip',
    NODE_IP,
    '--cluster-cidr',
    '10.0.0.0/8',
    file,
    '--src',
    POD,
    '--dst',
    clusterIP(1234),
    '--dport',
    '80',
    '--json',
  ],
  { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);
if (res.status !== 0) throw new Error(res.stderr);
if (JSON.parse(res.stdout).endpoints.length !== ENDPOINTS) throw new Error('CLI trace did not reach every endpoint');
line('CLI end to end (compile + trace)', ms(t1));
