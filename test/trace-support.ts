// Shared by the trace tests: compile a case in-process the way `ktables trace` does, parse rule
// files the way `--rules` does, and read the trace fixtures (fixtures/trace/*/case.json).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { ROOT, splitArgs } from './helpers/cases.js';
import { proxyOptions, withCompileFlags, type CompileFlags } from '../src/cli/flags.js';
import { loadInventory } from '../src/input/load.js';
import { buildModel } from '../src/model/build.js';
import type { ProxyModel } from '../src/model/types.js';
import { compileIptables } from '../src/backends/iptables/compile.js';
import { parseIptables } from '../src/parse/iptables.js';
import type { IptablesRuleset } from '../src/ir/iptables.js';
import { IptablesTracer } from '../src/trace/iptables.js';
import type { TracePacket, TraceProtocol } from '../src/trace/packet.js';

const TRACE_FIXTURES = join(ROOT, 'fixtures', 'trace');

function compileFlags(args: string[]): CompileFlags {
  return withCompileFlags(yargs(args))
    .parserConfiguration({ 'duplicate-arguments-array': true, 'camel-case-expansion': false })
    .strict(false)
    .parseSync() as CompileFlags;
}

export interface Compiled {
  model: ProxyModel;
  ruleset: IptablesRuleset;
  tracer: IptablesTracer;
}

/** Compiles a folder with `args` and `manifests.yaml`, as `ktables trace ARGS manifests.yaml` does. */
export function compileDir(dir: string, argsLine?: string): Compiled {
  const flags = compileFlags(splitArgs(argsLine ?? readFileSync(join(dir, 'args'), 'utf8').trim()));
  const opts = proxyOptions(flags);
  const inv = loadInventory([join(dir, 'manifests.yaml')], () => '');
  const model = buildModel(inv, opts, []);
  let previousNatChains: string[] | undefined;
  if (flags['previous-rules']) {
    const prev = parseIptables(readFileSync(resolve(dir, flags['previous-rules']), 'utf8'));
    previousNatChains = prev.tables.find((t) => t.name === 'nat')?.chains.map((c) => c.name) ?? [];
  }
  const ruleset = compileIptables(model, { previousNatChains });
  return { model, ruleset, tracer: new IptablesTracer(ruleset, { family: model.node.family, addresses: model.node.nodeIPs }) };
}

/** Parses a rule file and traces it on a node with these addresses, as `--rules FILE --node-ip ...` does. */
export function rulesTracer(file: string, family: 'ipv4' | 'ipv6', nodeIPs: string[]): IptablesTracer {
  return new IptablesTracer(parseIptables(readFileSync(file, 'utf8'), family), { family, addresses: nodeIPs });
}

export interface TraceFlow {
  name: string;
  sourceIP: string;
  destIP: string;
  destPort: number;
  protocol?: string;
  inInterface?: string;
  output?: string;
  masq?: boolean;
  entry?: 'PREROUTING' | 'OUTPUT';
  endpoints?: Record<string, number>;
  endpointMasq?: Record<string, boolean>;
  recent?: string[];
  error?: string;
  testTracer?: string;
  testTracerMasq?: boolean;
}

export interface TraceCase {
  name: string;
  description: string;
  /** A folder (relative to fixtures/trace) with args and manifests.yaml. */
  compile?: string;
  /** Rule files (relative to fixtures/trace) traced as --rules. */
  rules?: string[];
  family?: 'ipv4' | 'ipv6';
  nodeIPs?: string[];
  flows: TraceFlow[];
}

export function traceCases(): TraceCase[] {
  return readdirSync(TRACE_FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(TRACE_FIXTURES, d.name, 'case.json')))
    .map((d) => d.name)
    .sort()
    .map((name) => ({ name, ...(JSON.parse(readFileSync(join(TRACE_FIXTURES, name, 'case.json'), 'utf8')) as Omit<TraceCase, 'name'>) }));
}

export function fixturePath(rel: string): string {
  return resolve(TRACE_FIXTURES, rel);
}

export function flowPacket(f: Pick<TraceFlow, 'sourceIP' | 'destIP' | 'destPort' | 'protocol' | 'inInterface'>): TracePacket {
  const p: TracePacket = {
    src: f.sourceIP,
    dst: f.destIP,
    dport: f.destPort,
    protocol: (f.protocol ?? 'TCP').toLowerCase() as TraceProtocol,
  };
  if (f.inInterface) p.inInterface = f.inInterface;
  return p;
}
