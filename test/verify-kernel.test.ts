// verify for real: a lab of network namespaces per case, real packets through the kernel's
// iptables and nftables, compared with the tracer and, for kube-proxy's conformance cases,
// with every flow kube-proxy's own tests expect. Labs have unique names, so cases run side by
// side (each mostly waits on timeouts).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { beforeAll, describe, expect, it } from 'vitest';
import { System, type RunOptions, type RunResult } from '../src/apply/system.js';
import { withCompileFlags, proxyOptions, type CompileFlags } from '../src/cli/flags.js';
import { loadModel } from '../src/app/compile-rules.js';
import { runVerify, type Flow, type VerifyReport } from '../src/verify/verify.js';
import { formatReport } from '../src/verify/report.js';
import { KUBE_PROXY_FIXTURES, ROOT, kubeProxyCases, splitArgs } from './helpers/cases.js';
import { runCliAsync } from './helpers/cli.js';
import { hasTool, inNetns, kernelSupport, testStateDir, warnSkipped } from './helpers/kernel.js';

const kernel = kernelSupport();
warnSkipped('verify kernel tests (conformance flows, golden fixtures, the example)', kernel);
const python = hasTool('python3');
if (kernel.ok && !python) console.warn('\n*** verify: python3 is not installed: SCTP probes are reported as "not run" ***\n');

function flagsOf(args: string[]): CompileFlags {
  return withCompileFlags(yargs(args))
    .parserConfiguration({ 'duplicate-arguments-array': true, 'camel-case-expansion': false })
    .help(false)
    .version(false)
    .exitProcess(false)
    .parseSync() as CompileFlags;
}

async function verifyCase(args: string[], manifests: string, flows?: Flow[]): Promise<VerifyReport> {
  const opts = proxyOptions(flagsOf(args));
  const { model } = loadModel([manifests], opts);
  return runVerify(new System(), { model, mode: opts.proxyMode, ...(flows ? { flows } : {}) });
}

const labs = () => new Set(readdirSync('/run/netns').filter((n) => /^kt[0-9a-f]{6}-(node|pods|out)$/.test(n)));

describe.skipIf(!kernel.ok)('verify against the kernel', () => {
  beforeAll(() => testStateDir());

  describe('kube-proxy conformance flows, reproduced by real packets', () => {
    for (const mode of ['iptables', 'nftables'] as const) {
      for (const c of kubeProxyCases(mode).filter((x) => x.flows && x.flows.length > 0)) {
        it.concurrent(`${mode} ${c.name}`, async () => {
          const report = await verifyCase(c.args, join(c.dir, 'manifests.yaml'), c.flows);
          const table = formatReport(report);
          expect(report.rows).toHaveLength(c.flows!.length);
          for (const row of report.rows) {
            // Each flow: what kube-proxy's test expects, what the tracer predicts, what happened.
            expect(row.flow?.problems, `${row.entry}\n${table}`).toEqual([]);
            expect(row.problems, `${row.entry}\n${table}`).toEqual([]);
            if (row.packet.protocol === 'sctp' && python) expect(row.observation.notRun, `${row.entry}: SCTP not run`).toBeUndefined();
            if (row.observation.notRun) console.warn(`verify ${mode} ${c.name}: "${row.entry}" not run: ${row.observation.notRun}`);
            else expect(row.observation.outcomes.length).toBeGreaterThan(0);
          }
          expect(report.ok, table).toBe(true);
        });
      }
    }
  });

  describe('golden fixtures: every entry point from a pod, the node and outside', () => {
    for (const mode of ['iptables', 'nftables'] as const) {
      const root = join(ROOT, 'fixtures', mode);
      for (const name of readdirSync(root)
        .filter((n) => existsSync(join(root, n, 'manifests.yaml')))
        .sort()) {
        it.concurrent(`${mode} ${name}`, async () => {
          const dir = join(root, name);
          const args = existsSync(join(dir, 'args')) ? splitArgs(readFileSync(join(dir, 'args'), 'utf8').trim()) : [];
          if (!args.includes('--proxy-mode')) args.push('--proxy-mode', mode);
          const report = await verifyCase(args, join(dir, 'manifests.yaml'));
          expect(report.rows.length).toBeGreaterThan(0);
          expect(report.ok, formatReport(report)).toBe(true);
        });
      }
    }
  });

  describe('the CLI', () => {
    it.concurrent.each(['iptables', 'nftables'])('verifies the bundled example (%s)', async (mode) => {
      const r = await runAsync(['verify', '--proxy-mode', mode, 'examples/cluster.yaml']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ENTRY POINT\s+FROM\s+PREDICTED \(trace\)\s+OBSERVED/);
      // eTP=Local LoadBalancer with source ranges: the local endpoint from inside the ranges, nothing from outside.
      expect(r.stdout).toMatch(
        /shop\/storefront:https LoadBalancer 192\.0\.2\.80:443\s+external 203\.0\.113\.2 \(in 203\.0\.113\.0\/24\)\s+10\.244\.1\.30:8443\s+10\.244\.1\.30:8443\s+✓/,
      );
      expect(r.stdout).toMatch(
        /shop\/storefront:https LoadBalancer 192\.0\.2\.80:443\s+external 192\.0\.2\.2 \(outside the source ranges\)\s+DROP \(timeout\)\s+DROP \(timeout\)\s+✓/,
      );
      expect(r.stdout).toMatch(new RegExp(`${mode} \\(ipv4\\): (\\d+) of \\1 probes match`));
    });

    it('fails, and says why, when the packets do not do what was expected', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ktables-verify-'));
      const c = kubeProxyCases('iptables').find((x) => x.name === 'TestLoadBalancer')!;
      const wrong = c.flows!.slice(0, 2).map((f, i) => (i === 0 ? { ...f, output: 'DROP' } : { ...f, masq: !f.masq }));
      writeFileSync(join(dir, 'flows.json'), JSON.stringify(wrong));
      const r = await runAsync(['verify', ...c.args, join(c.dir, 'manifests.yaml'), '--flows', join(dir, 'flows.json')]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/✗ pod to cluster IP from 10\.0\.0\.2: vs kube-proxy: unexpected 10\.180\.0\.1:80/);
      expect(r.stdout).toMatch(/✗ external to nodePort from 203\.0\.113\.2: vs kube-proxy: unexpected 10\.180\.0\.1:80 \(masq\)/);
      expect(r.stderr).toContain('2 of 2 probes did not behave as predicted');
    });

    it('--keep leaves the lab up, answering, and --down removes it', async () => {
      const c = kubeProxyCases('nftables').find((x) => x.name === 'TestLoadBalancer')!;
      const r = await runAsync(['verify', ...c.args, join(c.dir, 'manifests.yaml'), '--flows', join(c.dir, 'flows.json'), '--keep']);
      expect(r.status, r.stderr).toBe(0);
      const id = /lab (kt[0-9a-f]{6}) left up \(--keep\)/.exec(r.stdout)?.[1];
      expect(id).toBeDefined();
      expect(r.stdout).toContain(`ip netns exec ${id}-node bash`);
      expect(inNetns(`${id}-node`, 'nft', ['list', 'table', 'ip', 'kube-proxy'])).toContain('chain services');
      // The responders outlived the verify that started them.
      const probe = JSON.stringify({
        timeoutMs: 2000,
        concurrency: 1,
        probes: [{ id: 0, proto: 'tcp', src: '203.0.113.2', dst: '1.2.3.4', port: 80, tries: 1, until: [] }],
      });
      const out = await runAsync(['netns', 'exec', `${id}-out`, process.execPath, join(ROOT, 'dist', 'verify', 'agent.js'), 'probe'], {
        cmd: 'ip',
        input: probe,
      });
      expect(out.stdout).toContain('"server":"10.180.0.1:80"');
      const down = await runCliAsync(['verify', '--down', id!]);
      expect(down.status).toBe(0);
      expect([...labs()].filter((n) => n.startsWith(id!))).toEqual([]);
    });

    it('tears the lab down on Ctrl-C', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ktables-verify-'));
      // A dropped packet and a long timeout: verify is still probing when the signal comes.
      writeFileSync(join(dir, 'flows.json'), JSON.stringify([{ sourceIP: '203.0.113.130', destIP: '5.6.7.8', destPort: 80 }]));
      const c = kubeProxyCases('iptables').find((x) => x.name === 'TestLoadBalancer')!;
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'bin', 'ktables'),
          'verify',
          ...c.args,
          join(c.dir, 'manifests.yaml'),
          '--flows',
          join(dir, 'flows.json'),
          '--timeout',
          '30000',
        ],
        { cwd: ROOT },
      );
      let err = '';
      const id = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /lab (kt[0-9a-f]{6}): namespaces/.exec(err);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`verify exited early: ${err}`)));
      });
      expect([...labs()].filter((n) => n.startsWith(id))).toHaveLength(3);
      await new Promise((r) => setTimeout(r, 500));
      const code = await new Promise<number | null>((resolve) => {
        child.on('exit', (c2) => resolve(c2));
        child.kill('SIGINT');
      });
      expect(code).toBe(130);
      expect([...labs()].filter((n) => n.startsWith(id))).toEqual([]);
    });

    it('tears the lab down when something fails half-way', async () => {
      const c = kubeProxyCases('iptables').find((x) => x.name === 'TestLoadBalancer')!;
      const opts = proxyOptions(flagsOf(c.args));
      const { model } = loadModel([join(c.dir, 'manifests.yaml')], opts);
      // The lab is up when the rules go in.
      class BrokenRestore extends System {
        override async run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
          if (cmd === 'iptables-restore') throw new Error('iptables-restore crashed');
          return super.run(cmd, args, o);
        }
      }
      let id = '';
      await expect(
        runVerify(new BrokenRestore(), {
          model,
          mode: 'iptables',
          flows: c.flows!,
          say: (l) => (id = /lab (kt[0-9a-f]{6})/.exec(l)?.[1] ?? id),
        }),
      ).rejects.toThrow('iptables-restore crashed');
      expect(id).not.toBe('');
      expect([...labs()].filter((n) => n.startsWith(id))).toEqual([]);
    });
  });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Like runCli, without blocking the other concurrent tests. */
function runAsync(args: string[], o: { cmd?: string; input?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = o.cmd
      ? spawn(o.cmd, args, { cwd: ROOT })
      : spawn(process.execPath, [join(ROOT, 'bin', 'ktables'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

// Keeps the test honest about what it covers.
it('every kube-proxy case with flows is in the list above', async () => {
  for (const mode of ['iptables', 'nftables']) {
    const withFlows = readdirSync(join(KUBE_PROXY_FIXTURES, mode)).filter((n) =>
      existsSync(join(KUBE_PROXY_FIXTURES, mode, n, 'flows.json')),
    );
    expect(withFlows.length).toBeGreaterThan(20);
  }
});
