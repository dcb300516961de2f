// The compile command lines read without yargs must come out exactly as yargs reads them; any
// other line must be left to yargs.
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { commands } from '../src/cli/commands/index.js';
import { plainCompileArgs } from '../src/cli/compile-argv.js';
import { readBooleanFlags } from '../src/cli/flag-values.js';
import { BOOLEAN_FLAGS } from '../src/cli/flag-defs.js';
import { nodeHost } from '../src/host.js';

/** What the compile command's handler gets from yargs, without the keys yargs adds for itself. */
async function viaYargs(argv: string[]): Promise<Record<string, unknown>> {
  const spec = commands(nodeHost(), () => {}).find((c) => String(c.command).startsWith('compile'))!;
  let got: Record<string, unknown> = {};
  await yargs()
    .command({ ...spec, handler: (a: Record<string, unknown>) => void (got = a) })
    .strict()
    .parserConfiguration({ 'duplicate-arguments-array': true, 'camel-case-expansion': false })
    .exitProcess(false)
    .parseAsync(readBooleanFlags(argv, BOOLEAN_FLAGS));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(got)) if (k !== '_' && k !== '$0' && k !== 'o' && v !== undefined) out[k] = v;
  if (Array.isArray(out['paths']) && out['paths'].length === 0) delete out['paths'];
  return out;
}

const plain = (argv: string[]) => plainCompileArgs(readBooleanFlags(argv.slice(1), BOOLEAN_FLAGS));

describe('compile command lines read without yargs', () => {
  const same: string[][] = [
    ['compile'],
    ['compile', 'a.yaml'],
    ['compile', 'a.yaml', 'b/', '123'],
    ['compile', '-o', 'out.txt', 'a.yaml'],
    ['compile', '--output', 'out.txt', 'a.yaml', '--verbose'],
    ['compile', '--output=out.txt', '--no-verbose', 'a.yaml'],
    ['compile', '--proxy-mode', 'nftables', '--hostname-override', 'node-0', '--cluster-cidr', '10.0.0.0/8', 'x.yaml'],
    ['compile', '--proxy-mode=iptables', '--ip-family=ipv6', '--detect-local-mode', 'NodeCIDR', 'x.yaml'],
    ['compile', '--nfacct', 'x.yaml', '--no-masquerade-all', '--allow-empty'],
    ['compile', '--nfacct=false', '--iptables-random-fully=1', '--conntrack-tcp-be-liberal', 'x.yaml'],
    ['compile', '--iptables-masquerade-bit', '14', '--masquerade-mark', '0x4000', '--kube-proxy-version', '1.36', 'x.yaml'],
    ['compile', '--feature-gates', 'PreferSameTrafficDistribution=false', '--nodeport-addresses', 'primary', 'x.yaml'],
    ['compile', '--node-ip', '192.0.2.1', '--service-cluster-ip-range', '10.96.0.0/12', '--previous-rules', 'p.txt', 'x.yaml'],
    ['compile', '--config', 'c.yaml', '--pod-bridge-interface', 'cbr0', '--pod-interface-name-prefix', 'veth', 'x.yaml'],
  ];
  for (const argv of same) {
    it(argv.join(' '), async () => {
      const mine = plain(argv);
      expect(mine).toBeDefined();
      expect({ ...mine }).toEqual(await viaYargs(argv));
    });
  }

  it('leaves every other line to yargs', () => {
    for (const argv of [
      ['compile', '--help'],
      ['compile', '-h'],
      ['compile', '--version'],
      ['compile', '--unknown', 'x'],
      ['compile', '--hostname-override', 'a', '--hostname-override', 'b'],
      ['compile', '--proxy-mode', 'ipvs'],
      ['compile', '--output'],
      ['compile', '-o', '-'],
      ['compile', '--output='],
      ['compile', '--nfacct', 'false', 'x.yaml'],
      ['compile', '--', 'x.yaml'],
      ['compile', '-'],
      ['compile', '-ox'],
    ])
      expect(plain(argv)).toBeUndefined();
  });
});
