// The commands' specs (name, description, flags) without their code: every start loads this
// file for parsing and --help, and a command's modules are imported only when it runs. So
// `--version` or `compile` never load the tracer, the differ or execa.
import type { Argv, CommandModule } from 'yargs';
import type { Host } from '../../host.js';
import { withCompileFlags } from '../flag-defs.js';
import { withBehaviourFlags } from '../behaviour-flags.js';

/** A command's module: run() returns its exit status, or nothing for 0. */
type Run<A> = { run(argv: A, host: Host): void | number | Promise<void | number> };

/** A handler that imports the command's module when the command runs. */
function lazy<A>(host: Host, done: (status: number) => void, load: () => Promise<Run<A>>) {
  return async (argv: unknown) => {
    // yargs hands the parsed flags as its own type; the builder of each command declares them.
    const status = await (await load()).run(argv as A, host);
    if (typeof status === 'number') done(status);
  };
}

const PACKET = 'Packet:';

const DIFF_EPILOG = `Each side is a rule file or manifests, told apart by content: iptables-save (also with -c
counters), \`iptables -S\` output, iptables rule lines without a table (a grep fragment), an nft
listing or nft commands; anything else (and any directory) is Service and EndpointSlice
manifests, compiled with the flags above for both sides. '-' reads one side from stdin.

Chain order, rule spelling (/32, option order, probability digits, MARK forms), comments and the
hashed names of per-service chains are not differences; rule order within a chain is.

Exit status with --exit-code: 0 no semantic difference, 1 differences, 2 error (as git diff).

--behaviour compares what happens to packets instead (every entry point, every client), with
--old-X / --new-X for any compile flag X on one side: docs/behaviour.md.`;

export function commands(host: Host, done: (status: number) => void): CommandModule[] {
  return [
    {
      command: 'compile [paths..]',
      describe: "Compile Services and EndpointSlices into kube-proxy's rules for one node",
      builder: (y: Argv) =>
        withCompileFlags(
          y
            .positional('paths', { type: 'string', array: true, describe: 'Manifest files or directories; - for stdin' })
            .option('output', { alias: 'o', type: 'string', describe: 'Write to FILE (atomically) instead of stdout' })
            .option('verbose', { type: 'boolean', describe: 'Say what was skipped and which defaults were assumed' }),
        ),
      handler: lazy(host, done, () => import('./compile.js')),
    },
    {
      command: 'apply [paths..]',
      describe: "Program this host (or a network namespace) with kube-proxy's rules, the way kube-proxy does",
      builder: (y: Argv) =>
        withCompileFlags(
          y
            .positional('paths', { type: 'string', array: true, describe: 'Manifest files or directories to compile; - for stdin' })
            .option('rules', { type: 'string', describe: 'Load this rules file (iptables-restore or nft input) instead of compiling' })
            .option('netns', { type: 'string', describe: 'Apply inside this network namespace (ip netns) instead of the host' })
            .option('dry-run', { type: 'boolean', describe: 'Validate and show what would change; change nothing' })
            .option('verbose', { type: 'boolean', describe: 'Show every command run, and notes' })
            .example('$0 apply --netns test examples/cluster.yaml', 'program a network namespace')
            .example('$0 apply --dry-run examples/cluster.yaml', 'what would change on this host'),
        ),
      handler: lazy(host, done, () => import('./apply.js')),
    },
    {
      command: 'cleanup',
      describe:
        'Remove everything kube-proxy and ktables installed: jump rules, KUBE-* chains, the kube-proxy nftables table, nfacct counters',
      builder: (y: Argv) =>
        y
          .option('netns', { type: 'string', describe: 'Clean this network namespace (ip netns) instead of the host' })
          .option('verbose', { type: 'boolean', describe: 'Show every command run' }),
      handler: lazy(host, done, () => import('./cleanup.js')),
    },
    {
      command: 'verify [paths..]',
      describe: 'Prove with real packets, in a throwaway lab of network namespaces, that the rules do what trace predicts',
      builder: (y: Argv) =>
        withCompileFlags(
          y
            .positional('paths', { type: 'string', array: true, describe: 'Manifest files or directories; - for stdin' })
            .option('flows', {
              type: 'string',
              describe: 'Probe the packets in this flows file (kube-proxy conformance format) instead of every entry point',
            })
            .option('keep', { type: 'boolean', describe: 'Leave the lab up afterwards and say how to enter it' })
            .option('down', { type: 'string', describe: 'Remove a lab left up by --keep (its id) and exit' })
            .option('timeout', {
              type: 'number',
              default: 1000,
              describe: 'Milliseconds a connection may take before it counts as dropped',
            })
            .option('json', { type: 'boolean', describe: 'Print JSON' })
            .option('verbose', { type: 'boolean', describe: 'Show every command run' }),
        ),
      handler: lazy(host, done, () => import('./verify.js')),
    },
    {
      command: 'trace [paths..]',
      describe: 'Follow one packet through the rules: verdict, endpoints, masquerade, and every rule on the way',
      builder: (y: Argv) =>
        withCompileFlags(
          y
            .positional('paths', { type: 'string', array: true, describe: 'Manifest files or directories to compile first; - for stdin' })
            .option('src', {
              type: 'string',
              group: PACKET,
              describe: 'Source address (a node address or loopback: the packet starts on the node)',
            })
            .option('dst', { type: 'string', group: PACKET, describe: 'Destination address' })
            .option('dport', { type: 'number', group: PACKET, describe: 'Destination port' })
            .option('protocol', { type: 'string', group: PACKET, default: 'TCP', describe: 'TCP, UDP or SCTP' })
            .option('sport', { type: 'number', group: PACKET, describe: 'Source port (only if a rule matches on it)' })
            .option('in-interface', {
              type: 'string',
              group: PACKET,
              describe: 'Interface the packet arrives on (interface-based local detection)',
            })
            .option('out-interface', {
              type: 'string',
              group: PACKET,
              describe: 'Interface the packet leaves by (only if a rule matches on it)',
            })
            .option('rules', {
              type: 'string',
              describe: "Trace this rule set (a compile output or a node's iptables-save) instead of compiling",
            })
            .option('all', { type: 'boolean', describe: 'Trace the usual packets for every service port and print one table' })
            .option('json', { type: 'boolean', describe: 'Print JSON' })
            .option('format', {
              type: 'string',
              choices: ['text', 'json', 'mermaid', 'dot'],
              describe: "Output format; mermaid and dot draw one packet's path (not with --all)",
            })
            .option('verbose', { type: 'boolean', describe: 'Say what was skipped and which defaults were assumed' })
            .example(
              '$0 trace svc.yaml --node-ip 192.168.0.2 --src 10.0.0.2 --dst 172.30.0.41 --dport 80',
              'a pod connects to a cluster IP',
            )
            .example(
              '$0 trace --rules node.iptables-save --node-ip 192.168.0.2 --src 203.0.113.2 --dst 192.168.0.2 --dport 30080',
              "a node's real rules",
            )
            .example('$0 trace --all svc.yaml --node-ip 192.168.0.2', 'what kube-proxy does with every Service on this node'),
        ),
      handler: lazy(host, done, () => import('./trace.js')),
    },
    {
      command: 'diff <old> <new>',
      describe: "Say what changes in a node's rules, per service port: in words, then as rule diffs",
      builder: (y: Argv) =>
        withCompileFlags(
          withBehaviourFlags(y)
            .positional('old', { type: 'string', describe: 'Rule file, manifest file or directory; - for stdin' })
            .positional('new', { type: 'string', describe: 'Rule file, manifest file or directory; - for stdin' })
            .option('format', {
              type: 'string',
              choices: ['text', 'json', 'markdown'],
              default: 'text',
              describe: 'Output format (json: docs/diff-json.md)',
            })
            .option('stat', { type: 'boolean', describe: 'Only counts per service port and totals (rules, chains, endpoints)' })
            .option('exit-code', { type: 'boolean', describe: 'Exit 1 when there are differences, 0 when none' })
            .option('color', {
              type: 'string',
              choices: ['auto', 'always', 'never'],
              default: 'auto',
              describe: 'Colour text output (auto: on a terminal, unless NO_COLOR is set)',
            })
            .option('context', { alias: 'U', type: 'number', default: 3, describe: 'Unchanged rules shown around each change' })
            .option('output', { alias: 'o', type: 'string', describe: 'Write to FILE (atomically) instead of stdout' })
            .option('verbose', { type: 'boolean', describe: 'Say what was skipped while compiling manifests' })
            .epilog(DIFF_EPILOG),
        ),
      handler: lazy(host, done, () => import('./diff.js')),
    },
    {
      command: 'graph [paths..]',
      describe: 'Draw where packets go for each service port: entry points, chains, masquerade, endpoints (Mermaid or DOT)',
      builder: (y: Argv) =>
        withCompileFlags(
          y
            .positional('paths', { type: 'string', array: true, describe: 'Manifest files or directories; - for stdin' })
            .option('rules', {
              type: 'string',
              describe: "Draw this rule set (a compile output or a node's dump); the manifests give the Services and entry points",
            })
            .option('service', { type: 'string', describe: 'Only this Service (ns/name) or service port (ns/name:port)' })
            .option('format', {
              type: 'string',
              choices: ['mermaid', 'dot'],
              default: 'mermaid',
              describe: 'Mermaid (several pictures: a Markdown page) or Graphviz DOT',
            })
            .option('output', { alias: 'o', type: 'string', describe: 'Write to FILE (atomically) instead of stdout' })
            .option('verbose', { type: 'boolean', describe: 'Say what was skipped and which defaults were assumed' })
            .example('$0 graph examples/cluster.yaml --service shop/storefront', 'one Service as a Mermaid flowchart')
            .example('$0 graph examples/cluster.yaml --format dot | dot -Tsvg > services.svg', 'every service port through Graphviz'),
        ),
      handler: lazy(host, done, () => import('./graph.js')),
    },
  ];
}
