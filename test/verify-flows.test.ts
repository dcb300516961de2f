// verify --flows: the flows file is validated like a manifest (its addresses become lab
// addresses and probe targets), every problem reported at its line, exit 2 before any lab.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlows } from '../src/input/flows.js';
import { runCliAsync } from './helpers/cli.js';
import { kubeProxyCases } from './helpers/cases.js';

describe('parseFlows', () => {
  it("reads every conformance case's flows.yaml", () => {
    let n = 0;
    for (const mode of ['iptables', 'nftables'] as const)
      for (const c of kubeProxyCases(mode).filter((x) => x.flows)) {
        const r = parseFlows('flows.yaml', readFileSync(join(c.dir, 'flows.yaml'), 'utf8'));
        expect('flows' in r ? r.flows : r.problems, c.name).toEqual(c.flows);
        n++;
      }
    expect(n).toBeGreaterThan(20);
  });

  it('reports every bad field at its line, with the value, escaped', () => {
    const text = [
      '- name: a',
      '  sourceIP: 10.0.0.2',
      '  destIP: "10.96.0.10\\n-A X"',
      '  destPort: 80',
      '- sourceIP: 10.0.0.2',
      '  destIP: 10.96.0.10',
      '  destPort: 99999',
      '  protocol: ICMP',
      '  masq: "yes"',
      '  color: red',
      '- {sourceIP: 10.0.0.2}',
    ].join('\n');
    const r = parseFlows('f.yaml', text);
    expect('problems' in r).toBe(true);
    if (!('problems' in r)) return;
    expect(r.problems.map((p) => [p.line, p.field, p.message, p.value])).toEqual([
      [3, '[0].destIP', 'must be an IPv4 or IPv6 address', '10.96.0.10\n-A X'],
      [7, '[1].destPort', 'must be a port number, 1 to 65535', 99999],
      [8, '[1].protocol', expect.stringContaining('"TCP"|"UDP"|"SCTP"'), 'ICMP'],
      [9, '[1].masq', 'must be a boolean', 'yes'],
      [10, '[1].color', expect.stringMatching(/^is not a flow field/), undefined],
      [11, '[2].destIP', 'is required', undefined],
      [11, '[2].destPort', 'is required', undefined],
    ]);
  });

  it('a mapping, a syntax error, a bomb: one problem each', () => {
    const one = (text: string) => {
      const r = parseFlows('f', text);
      return 'problems' in r ? r.problems.map((p) => p.message) : [];
    };
    expect(one('{"a": 1}')).toEqual([expect.stringMatching(/^expected a list of flows/)]);
    expect(one('- [')).toEqual([expect.stringMatching(/^cannot read flows: /)]);
    expect(one('['.repeat(200) + ']'.repeat(200))).toEqual([expect.stringMatching(/^cannot read flows: /)]);
  });
});

describe('verify --flows with a bad file', () => {
  it('is exit 2 naming the file, line and field; no lab is built', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ktables-flows-')), 'flows.yaml');
    writeFileSync(file, '- {sourceIP: 10.0.0.2, destIP: "$(reboot)", destPort: 80}\n');
    const r = await runCliAsync(['verify', 'examples/cluster.yaml', '--flows', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file} (line 1, column 32): [0].destIP: must be an IPv4 or IPv6 address (got "$(reboot)")`);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/lab kt/);
  });

  it('--flows - reads stdin; not together with manifests from stdin', async () => {
    const input = '- {sourceIP: 10.0.0.2, destIP: 10.96.0.10, destPort: 0}\n';
    const r = await runCliAsync(['verify', 'examples/cluster.yaml', '--flows', '-'], { input });
    expect([r.status, r.stderr]).toEqual([2, expect.stringContaining('<stdin> (line 1, column 54): [0].destPort: must be a port number')]);
    const both = await runCliAsync(['verify', '--flows', '-'], { input });
    expect([both.status, both.stderr]).toEqual([
      2,
      expect.stringContaining('only one of the manifests and --flows can be read from stdin'),
    ]);
  });
});
