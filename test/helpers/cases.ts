// Shared helpers for tests that run fixtures through the real pipeline in-process.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const KUBE_PROXY_FIXTURES = join(ROOT, 'fixtures', 'kube-proxy');

/** Splits an args line the way the conformance runner does (simple quoting). */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

export interface Case {
  /** The case folder; `<mode>-<version>/<case>` for the cases of a newer release. */
  name: string;
  dir: string;
  args: string[];
  expected?: string;
  /** Partial cases: lines that must be whole output lines / text that must occur nowhere. */
  contains?: string[];
  absent?: string[];
  flows?: Flow[];
}

export interface Flow {
  name: string;
  sourceIP: string;
  destIP: string;
  destPort: number;
  protocol?: string;
  output: string;
  masq: boolean;
}

const lines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : undefined;

/** The folders of a mode: `<mode>/` (kube-proxy v1.35 tests) and every `<mode>-<version>/`. */
function kubeProxyFolders(mode: 'iptables' | 'nftables'): string[] {
  return readdirSync(KUBE_PROXY_FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && (d.name === mode || d.name.startsWith(`${mode}-`)))
    .map((d) => d.name)
    .sort();
}

export function kubeProxyCases(mode: 'iptables' | 'nftables'): Case[] {
  return kubeProxyFolders(mode).flatMap((folder) => {
    const root = join(KUBE_PROXY_FIXTURES, folder);
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort()
      .map((name) => {
        const dir = join(root, name);
        const expectedFile = join(dir, 'expected.txt');
        const flowsFile = join(dir, 'flows.json');
        return {
          name: folder === mode ? name : `${folder}/${name}`,
          dir,
          args: splitArgs(readFileSync(join(dir, 'args'), 'utf8').trim()),
          expected: existsSync(expectedFile) ? readFileSync(expectedFile, 'utf8') : undefined,
          contains: lines(join(dir, 'expected.contains.txt')),
          absent: lines(join(dir, 'expected.absent.txt')),
          flows: existsSync(flowsFile) ? (JSON.parse(readFileSync(flowsFile, 'utf8')) as Flow[]) : undefined,
        };
      });
  });
}
