#!/usr/bin/env node
// npm run bench: compile generated clusters of 1k, 10k (and with --100k, 100k) Services x 10
// endpoints, from kubectl-style YAML and from `kubectl -o json`, for iptables and nftables; one
// table of the time of each stage, the CLI end to end, its peak RSS and the kernel tools' own
// check of the same output (`--json` for the figures as JSON). Start-up is timed side by side
// with a bare node. Data goes to bench-data/ (git-ignored). Then runs every scripts/bench-*.mjs
// (trace, diff, nftables ...) unless --json or --compile-only. --no-check skips the kernel tools
// (`nft -c` takes minutes on the 10k output).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

/** The generated cluster as `kubectl get -o json` prints it (a List), made once from the YAML. */
async function jsonClusterFile(services, endpoints) {
  const file = join(root, 'bench-data', `cluster-${services}x${endpoints}.json`);
  if (existsSync(file)) return file;
  const { parseDocuments } = await import(pathToFileURL(join(root, 'dist', 'input', 'documents.js')).href);
  const items = parseDocuments('x', readFileSync(clusterFile(services, endpoints), 'utf8'), []).map((d) => d.value);
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2) + '\n');
  return file;
}

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Wall time and peak RSS of one process, best wall of REPEAT runs. */
function timed(cmd, args, repeat, opts = {}) {
  let best;
  for (let i = 0; i < repeat; i++) {
    const rssFile = join(root, 'bench-data', `.rss-${process.pid}`);
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts, env: { ...process.env, BENCH_RSS_FILE: rssFile } });
    const wall = ms(t0);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const rssMB = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) / 1024 : undefined;
    rmSync(rssFile, { force: true });
    if (!best || wall < best.wall) best = { wall, rssMB, stdout: r.stdout };
  }
  return best;
}

/** The kernel's own parser on the same output, in a throwaway network namespace when possible. */
function checkTool(mode, out) {
  const tool = mode === 'nftables' ? ['nft', ['-c', '-f', out]] : ['iptables-restore', ['--test', out]];
  if (!have(tool[0]) || (process.getuid && process.getuid() !== 0)) return undefined;
  const [cmd, args] = have('unshare') ? ['unshare', ['--net', tool[0], ...tool[1]]] : tool;
  try {
    return timed(cmd, args, 1).wall;
  } catch (e) {
    return `failed: ${String(e.message).split('\n')[1] ?? e.message}`;
  }
}

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const big = args.includes('--100k') || process.env.BENCH_100K === '1';
  const sizes = [1000, 10000, ...(big ? [100000] : [])];
  const repeat = Number(process.env.BENCH_REPEAT ?? 3);
  const bin = join(root, 'bin', 'ktables');
  const rss = ['--import', pathToFileURL(join(root, 'scripts', 'rss-on-exit.mjs')).href];
  const log = (s) => !json && process.stdout.write(s);

  // Start-up, side by side: a bare node, --version, and compiling the bundled example.
  const startup = {
    node: timed(process.execPath, ['-e', '0'], 7).wall,
    version: timed(process.execPath, [bin, '--version'], 7).wall,
    compileExample: timed(process.execPath, [bin, 'compile', join(root, 'examples', 'cluster.yaml')], 7).wall,
  };
  log(
    `start-up (best of 7): node -e 0 ${startup.node.toFixed(0)} ms; ktables --version ${startup.version.toFixed(0)} ms (${(startup.version / startup.node).toFixed(2)}x); ` +
      `compile examples/cluster.yaml ${startup.compileExample.toFixed(0)} ms (${(startup.compileExample / startup.node).toFixed(2)}x)\n\n`,
  );

  const rows = [];
  const head = [
    'cluster',
    'input',
    'mode',
    'read+validate',
    'model',
    'backend',
    'emit',
    'write',
    'total',
    'CLI end to end',
    'peak RSS',
    'checker',
    'lines',
  ];
  const widths = [14, 5, 9, 14, 7, 8, 7, 7, 7, 15, 9, 26, 9];
  const fmt = (cells) => cells.map((c, i) => (i < 3 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' ') + '\n';
  log(`compile, ${ENDPOINTS} endpoints per Service (ms; best of ${repeat} for the CLI; stages from one run)\n`);
  log(fmt(head));
  for (const services of sizes) {
    const yamlFile = clusterFile(services, ENDPOINTS);
    const jsonFile = await jsonClusterFile(services, ENDPOINTS);
    for (const [input, file, mode] of [
      ['yaml', yamlFile, 'iptables'],
      ['json', jsonFile, 'iptables'],
      ['yaml', yamlFile, 'nftables'],
    ]) {
      const out = join(root, 'bench-data', `out-${services}-${input}.${mode}`);
      const stages = JSON.parse(timed(process.execPath, [join(root, 'scripts', 'compile-stages.mjs'), file, mode, out], 1).stdout);
      const total = stages.read + stages.model + stages.backend + stages.emit + stages.write;
      const cli = timed(
        process.execPath,
        [...rss, bin, 'compile', '--proxy-mode', mode, '--hostname-override', 'node-0', '--cluster-cidr', '10.0.0.0/8', file, '-o', out],
        services >= 100000 ? 1 : repeat,
      );
      const checker = args.includes('--no-check') ? undefined : checkTool(mode, out);
      const row = {
        services,
        endpoints: ENDPOINTS,
        input,
        mode,
        ...stages,
        total,
        cli: cli.wall,
        peakRssMB: cli.rssMB,
        checker,
        checkerTool: mode === 'nftables' ? 'nft -c' : 'iptables-restore --test',
      };
      rows.push(row);
      const n = (v) => (typeof v === 'number' ? v.toFixed(0) : '-');
      const check = typeof checker === 'number' ? `${row.checkerTool} ${checker.toFixed(0)}` : (checker ?? 'not run');
      log(
        fmt([
          `${services / 1000}k x ${ENDPOINTS}`,
          input,
          mode,
          n(stages.read),
          n(stages.model),
          n(stages.backend),
          n(stages.emit),
          n(stages.write),
          n(total),
          n(cli.wall),
          `${n(cli.rssMB)} MB`,
          check,
          stages.lines,
        ]),
      );
    }
  }
  // Linear growth: the CLI's time per 10x more Services, and what that means per doubling.
  const growth = [];
  for (const r of rows) {
    const prev = rows.find((p) => p.services * 10 === r.services && p.input === r.input && p.mode === r.mode);
    if (prev)
      growth.push({
        from: prev.services,
        to: r.services,
        input: r.input,
        mode: r.mode,
        ratio: r.cli / prev.cli,
        perDoubling: Math.pow(r.cli / prev.cli, 1 / Math.log2(10)),
      });
  }
  if (!big) log('(100k row: npm run bench -- --100k, or BENCH_100K=1)\n');
  for (const g of growth)
    log(
      `growth ${g.input} ${g.mode} ${g.from / 1000}k -> ${g.to / 1000}k: x${g.ratio.toFixed(2)} (x${g.perDoubling.toFixed(2)} per doubling)\n`,
    );
  if (json) {
    process.stdout.write(
      JSON.stringify(
        {
          machine: { cpus: (await import('node:os')).cpus().length, node: process.version, load: (await import('node:os')).loadavg() },
          startup,
          rows,
          growth,
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  if (args.includes('--compile-only')) return;

  for (const f of readdirSync(join(root, 'scripts')).sort()) {
    if (!/^bench-.*\.mjs$/.test(f)) continue;
    console.log('');
    const r = spawnSync(process.execPath, ['--expose-gc', join(root, 'scripts', f)], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
