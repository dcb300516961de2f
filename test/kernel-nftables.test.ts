// Every nft rule set ktables writes is loaded for real: `nft -f` into a throwaway network
// namespace (`nft -c` alone accepts rules the kernel refuses, e.g. NAT in a filter chain or an
// `iif` for an interface that does not exist). The kernel's own listing of the loaded table is
// then read back and must hold the same rules; for the flow cases, the packets traced through
// that listing must get kube-proxy's answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNftables } from '../src/parse/nftables.js';
import { traceNftables } from '../src/trace/nftables.js';
import { ROOT, kubeProxyCases } from './helpers/cases.js';
import { NFT_GOLDEN_CASES, compileWithArgs, flowPacket, kernelNormalForm, loadInNetns, netnsUnavailable } from './helpers/nftables.js';

const unavailable = netnsUnavailable();
if (unavailable) {
  console.warn(
    `\n*** WARNING: nftables kernel tests SKIPPED: network namespaces are unavailable here (${unavailable}).\n*** Golden nft rule sets were NOT loaded into a kernel. Run the tests as root on Linux with nftables and iproute2.\n`,
  );
}

function loadsAndListsBack(text: string): string {
  const res = loadInNetns(text);
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  expect(kernelNormalForm(parseNftables(res.listing))).toBe(kernelNormalForm(parseNftables(text)));
  return res.listing;
}

describe.skipIf(!!unavailable)('nft rule sets load into a real kernel', () => {
  const cases = kubeProxyCases('nftables');
  for (const c of cases.filter((x) => x.expected !== undefined)) {
    it(`kube-proxy expected: ${c.name}`, () => {
      loadsAndListsBack(c.expected!);
    });
  }
  for (const name of NFT_GOLDEN_CASES) {
    it(`golden: ${name}`, () => {
      loadsAndListsBack(readFileSync(join(ROOT, 'golden', 'nftables', `${name}.nft`), 'utf8'));
    });
  }
  for (const c of cases.filter((x) => x.flows !== undefined)) {
    it(`compiled and traced from the kernel's listing: ${c.name}`, () => {
      const compiled = compileWithArgs(c.dir, readFileSync(join(c.dir, 'args'), 'utf8'));
      const listed = parseNftables(loadsAndListsBack(compiled.text));
      for (const f of c.flows!) {
        const r = traceNftables(listed, { family: compiled.family, addresses: compiled.nodeIPs }, flowPacket(f));
        expect({ flow: f.name, verdict: r.verdict, masq: r.masquerade }).toEqual({ flow: f.name, verdict: f.output, masq: f.masq });
      }
    });
  }
});

if (unavailable) {
  describe('nft rule sets load into a real kernel', () => {
    it.skip(`SKIPPED: network namespaces are unavailable (${unavailable})`, () => {});
  });
}
