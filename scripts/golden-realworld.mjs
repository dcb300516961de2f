#!/usr/bin/env node
// Regenerates the real-node golden files ON PURPOSE (npm run golden runs every
// scripts/golden-*.mjs). Tests only compare; they never write.
//   fixtures/realworld/<file> -> golden/realworld/<file>.txt
// Each golden holds what `trace --all --rules FILE` and `diff FILE FILE` answer (exit code,
// stdout, stderr), run in fixtures/realworld so the file names in messages are short.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'ktables');
const fixtures = join(root, 'fixtures', 'realworld');
const out = join(root, 'golden', 'realworld');

/** The commands each realworld file is run through, and how one run is written down. */
export const COMMANDS = (file) => [['trace', '--all', '--rules', file], ['diff', file, file, '--color', 'never'], ...(EXTRA[file] ?? [])];

// Single packets where a file isolates a tracer behaviour.
const EXTRA = {
  // A TCP packet never reaches the udp/68 rule: no interface question.
  'mangle-checksum-oif.iptables-save': [
    ['trace', '--rules', 'mangle-checksum-oif.iptables-save', '--src', '10.244.0.5', '--dst', '192.168.122.10', '--dport', '80'],
  ],
  'centos7-broken-without-state-lines.iptables-save': [
    ['trace', '--all', '--rules', 'centos7-broken-without-state-lines.iptables-save', '--node-ip', '192.168.1.5'],
  ],
  'physdev-kube-services.iptables-save': [
    ['trace', '--rules', 'physdev-kube-services.iptables-save', '--src', '203.0.113.2', '--dst', '192.168.121.201', '--dport', '80'],
  ],
  'dnat-garbage-referenced.iptables-save': [
    [
      'trace',
      '--rules',
      'dnat-garbage-referenced.iptables-save',
      '--src',
      '10.244.0.5',
      '--dst',
      '10.43.0.10',
      '--dport',
      '53',
      '--protocol',
      'UDP',
    ],
  ],
  'flannel-1.26-worker1+kube-router-chain.iptables-save': [
    [
      'trace',
      '--rules',
      'flannel-1.26-worker1+kube-router-chain.iptables-save',
      '--src',
      '10.244.0.2',
      '--dst',
      '10.96.0.10',
      '--dport',
      '53',
      '--protocol',
      'UDP',
    ],
  ],
  'endpointslice-v1beta1-k8s1.18.yaml': [
    ['compile', 'endpointslice-v1beta1-k8s1.18.yaml', '--verbose', '--hostname-override', 'node-a', '--node-ip', '10.2.5.1'],
  ],
};

export function record(args, res) {
  return `$ ktables ${args.join(' ')}\nexit ${res.status}\n--- stdout\n${res.stdout}--- stderr\n${res.stderr}`;
}

export const realworldFiles = () =>
  readdirSync(fixtures)
    .filter((f) => f !== 'README.md')
    .sort();

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(out, { recursive: true });
  let written = 0;
  for (const file of realworldFiles()) {
    const parts = COMMANDS(file).map((args) =>
      record(
        args,
        spawnSync(process.execPath, [cli, ...args], { cwd: fixtures, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }),
      ),
    );
    writeFileSync(join(out, `${file}.txt`), parts.join('\n'));
    written++;
  }
  console.log(`golden-realworld: wrote ${written} files`);
}
