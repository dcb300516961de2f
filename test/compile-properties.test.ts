// Properties every compile must have, whatever the input.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitIptables } from '../src/emit/iptables.js';
import { InputError } from '../src/errors.js';
import { parseIptables } from '../src/parse/iptables.js';
import { ROOT } from './helpers/cases.js';
import { compileText } from './helpers/compile.js';

const fixture = (name: string) => readFileSync(join(ROOT, 'fixtures', 'iptables', name, 'manifests.yaml'), 'utf8');
const documentsOf = (text: string) => text.split(/^---$/m).filter((d) => d.trim() !== '');

describe('compile', () => {
  // Documents from several fixtures at once: Services and slices interleave in every order.
  const docs = [
    'terminating-endpoints',
    'session-affinity',
    'udp-sctp',
    'multi-port-named-target',
    'lb-source-range-contains-node',
    'legacy-endpoints',
  ].flatMap((n) => documentsOf(fixture(n)));
  const reference = compileText(docs.join('\n---\n'));

  it('gives the same bytes whatever the order of documents', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(docs, { minLength: docs.length, maxLength: docs.length }), (shuffled) => {
        expect(compileText(shuffled.join('\n---\n'))).toBe(reference);
      }),
      { numRuns: 40 },
    );
  });

  it('emits text that parses back to the same rule set', () => {
    for (const name of readdirSync(join(ROOT, 'fixtures', 'iptables'))) {
      const text = readFileSync(join(ROOT, 'golden', 'iptables', `${name}.rules`), 'utf8');
      expect(emitIptables(parseIptables(text)), name).toBe(text);
    }
  });

  it('never lets a name, port name or address smuggle text into a rule', () => {
    const template = (name: string, portName: string, ip: string) => `
apiVersion: v1
kind: Service
metadata: {name: ${JSON.stringify(name)}, namespace: default}
spec:
  clusterIP: ${JSON.stringify(ip)}
  ports: [{name: ${JSON.stringify(portName)}, port: 80}]
`;
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 12 }),
        fc.oneof(fc.ipV4(), fc.string({ maxLength: 20 })),
        (name, portName, ip) => {
          let out: string;
          try {
            out = compileText(template(name, portName, ip));
          } catch (e) {
            expect(e).toBeInstanceOf(InputError);
            return;
          }
          // Accepted input: every line is one well-formed restore line, and parses back.
          for (const line of out.split('\n').slice(0, -1))
            expect(line).toMatch(/^(\*(filter|nat)|:[A-Z0-9-]+ - \[0:0\]|-A [A-Z0-9-]+( .*)?|COMMIT)$/);
          expect(emitIptables(parseIptables(out))).toBe(out);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('large-cluster mode', () => {
  function cluster(services: number, endpoints: number): string {
    const docs: string[] = [];
    for (let i = 0; i < services; i++) {
      docs.push(
        `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}, namespace: big}\nspec:\n  clusterIP: 10.96.${i >> 8}.${i & 255}\n  ports: [{name: http, port: 80}]\n`,
      );
      const eps = Array.from({ length: endpoints }, (_, e) => `- addresses: [10.1.${i}.${e + 1}]`).join('\n');
      docs.push(
        `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: s${i}-1\n  namespace: big\n  labels: {kubernetes.io/service-name: s${i}}\naddressType: IPv4\nendpoints:\n${eps}\nports: [{name: http, port: 8080}]\n`,
      );
    }
    return docs.join('---\n');
  }

  it('keeps endpoint comments up to 1000 endpoints', () => {
    const out = compileText(cluster(100, 10));
    expect(out).toContain('-A KUBE-SEP-');
    expect(out).not.toMatch(/^-A KUBE-SEP-\S+ -s /m);
  });

  it('drops the comments of endpoint rules above 1000 endpoints, as kube-proxy does', () => {
    const out = compileText(cluster(101, 10));
    expect(out).toMatch(/^-A KUBE-SEP-\S+ -s 10\.1\.0\.1 -j KUBE-MARK-MASQ$/m);
    expect(out).toMatch(/^-A KUBE-SVC-\S+ -m statistic --mode random --probability 0\.1000000000 -j KUBE-SEP-\S+$/m);
    expect(out).toContain('-m comment --comment "big/s0:http cluster IP"'); // other comments stay
  });
});
