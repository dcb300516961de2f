// The helper verify's lab runs inside its network namespaces, as a plain node script with no
// dependencies (it starts in ~75 ms, and every namespace needs its own process):
//
//   node agent.js serve CONFIG   TCP/UDP responder: answers every connection or datagram with
//                                {"role","server","client"}: its role in the lab, the address
//                                the packet was sent to (after any DNAT) and the address it
//                                came from (after any masquerade). CONFIG is JSON: ServeConfig.
//                                Prints READY once every socket is bound. It probes too: each
//                                line on stdin is a ProbeRequest, answered by a line
//                                RESULT <id> <ProbeOutcome[] JSON> (one process per namespace
//                                serves and probes, instead of a Node start per probe round).
//   node agent.js probe          reads ProbeBatch JSON on stdin, runs every probe (in parallel,
//                                attempts of one probe in sequence), prints ProbeOutcome[] JSON.
import { createServer, connect, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

/** sctp is served and probed by the raw-socket helper (sctp.ts), never by this script. */
export type Proto = 'tcp' | 'udp' | 'sctp';
export type Role = 'endpoint' | 'node' | 'outside';

export interface Binding {
  ip: string;
  port: number;
  proto: Proto;
  /** Overrides the server's role (a host-network endpoint answers as an endpoint on the node). */
  role?: Role;
}

export interface ServeConfig {
  role: Role;
  bind: Binding[];
  /** Exit when stdin closes, so a helper never outlives the verify that started it. */
  exitWithStdin: boolean;
}

export interface ProbeSpec {
  id: number;
  proto: Proto;
  src: string;
  dst: string;
  port: number;
  /** Attempts at most. */
  tries: number;
  /** Keep trying (up to `tries`) until each of these servers (`ip:port`) has answered; empty: make every try. */
  until: string[];
}

export interface ProbeBatch {
  timeoutMs: number;
  concurrency: number;
  probes: ProbeSpec[];
}

type AttemptResult = 'ok' | 'refused' | 'timeout' | 'unreachable' | 'error';

export interface Attempt {
  result: AttemptResult;
  role?: Role;
  server?: string;
  client?: string;
  error?: string;
  ms: number;
}

/** A probe round sent to a serving agent, one line of JSON on its stdin. */
export interface ProbeRequest {
  id: number;
  batch: ProbeBatch;
}

export interface ProbeOutcome {
  id: number;
  attempts: Attempt[];
}

const hostPort = (a: string, p: number) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
// Node reports IPv4 peers of a dual-stack socket as ::ffff:a.b.c.d.
const bare = (a: string | undefined) => (a ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

function serve(cfg: ServeConfig): void {
  let pending = cfg.bind.length;
  const ready = () => {
    if (--pending === 0) process.stdout.write('READY\n');
  };
  const fail = (b: Binding, e: Error) => {
    process.stdout.write(`ERROR ${b.proto} ${hostPort(b.ip, b.port)}: ${e.message}\n`);
    process.exit(1);
  };
  for (const b of cfg.bind) {
    const reply = (server: string, client: string) => JSON.stringify({ role: b.role ?? cfg.role, server, client });
    if (b.proto === 'tcp') {
      const srv = createServer((sock: Socket) => {
        sock.on('error', () => {});
        sock.end(reply(hostPort(bare(sock.localAddress), sock.localPort ?? 0), hostPort(bare(sock.remoteAddress), sock.remotePort ?? 0)));
      });
      srv.on('error', (e) => fail(b, e));
      srv.listen({ host: b.ip, port: b.port, exclusive: true }, ready);
    } else {
      // One socket per address: a reply must leave from the address the datagram was sent to,
      // or conntrack cannot undo the DNAT (a wildcard socket would pick a source by route).
      const s = createSocket(b.ip.includes(':') ? 'udp6' : 'udp4');
      s.on('message', (_m, r) => s.send(reply(hostPort(b.ip, b.port), hostPort(bare(r.address), r.port)), r.port, r.address));
      s.on('error', (e) => fail(b, e));
      s.bind({ address: b.ip, port: b.port, exclusive: true }, ready);
    }
  }
  if (pending === 0) process.stdout.write('READY\n');
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const req = JSON.parse(line) as ProbeRequest;
      void probeAll(req.batch).then((r) => process.stdout.write(`RESULT ${req.id} ${JSON.stringify(r)}\n`));
    }
  });
  // A lab left up (--keep) loses its stdin when verify ends, and goes on serving.
  process.stdin.on('end', () => cfg.exitWithStdin && process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

function errorResult(code: string | undefined): AttemptResult {
  switch (code) {
    case 'ECONNREFUSED':
    case 'ECONNRESET':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'error';
  }
}

function parseReply(text: string, start: number): Attempt {
  try {
    const r = JSON.parse(text) as { role: Role; server: string; client: string };
    return { result: 'ok', role: r.role, server: r.server, client: r.client, ms: Date.now() - start };
  } catch {
    return { result: 'error', error: `unexpected reply ${JSON.stringify(text.slice(0, 80))}`, ms: Date.now() - start };
  }
}

function attemptTcp(p: ProbeSpec, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const start = Date.now();
    let data = '';
    let done = false;
    const sock = connect({ host: p.dst, port: p.port, localAddress: p.src });
    const finish = (a: Attempt) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ result: 'timeout', ms: Date.now() - start }), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('end', () => finish(parseReply(data, start)));
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish({ result: errorResult(e.code), error: e.code ?? e.message, ms: Date.now() - start }),
    );
  });
}

function attemptUdp(p: ProbeSpec, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const start = Date.now();
    let done = false;
    const s = createSocket(p.dst.includes(':') ? 'udp6' : 'udp4');
    const finish = (a: Attempt) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        s.close();
      } catch {
        // already closed
      }
      resolve(a);
    };
    const timer = setTimeout(() => finish({ result: 'timeout', ms: Date.now() - start }), timeoutMs);
    s.on(
      'error',
      (e: NodeJS.ErrnoException) =>
        e.code !== 'EPERM' && finish({ result: errorResult(e.code), error: e.code ?? e.message, ms: Date.now() - start }),
    );
    s.on('message', (m) => finish(parseReply(m.toString(), start)));
    // A connected socket is told about ICMP port-unreachable (ECONNREFUSED): REJECT shows.
    s.bind({ address: p.src, port: 0 }, () => {
      s.connect(p.port, p.dst, (err?: Error) => {
        if (err) return finish({ result: errorResult((err as NodeJS.ErrnoException).code), error: err.message, ms: Date.now() - start });
        s.send('probe', (e) => {
          // EPERM: netfilter turned the datagram away on the way out. A REJECT still reports
          // itself (ICMP to this socket, an error event); a DROP runs into the timeout.
          if (e && (e as NodeJS.ErrnoException).code !== 'EPERM')
            finish({ result: errorResult((e as NodeJS.ErrnoException).code), error: e.message, ms: Date.now() - start });
        });
      });
    });
  });
}

async function runProbe(p: ProbeSpec, timeoutMs: number): Promise<ProbeOutcome> {
  const attempts: Attempt[] = [];
  const missing = new Set(p.until);
  while (attempts.length < Math.max(1, p.tries)) {
    const a = p.proto === 'udp' ? await attemptUdp(p, timeoutMs) : await attemptTcp(p, timeoutMs);
    attempts.push(a);
    // A failure settles the probe, and so does an answer nobody waits for; with nothing to
    // wait for, every try is made (session affinity: do they all stick to one endpoint?).
    if (a.result !== 'ok') break;
    if (p.until.length === 0) continue;
    if (!a.server || !p.until.includes(a.server)) break;
    missing.delete(a.server);
    if (missing.size === 0) break;
  }
  return { id: p.id, attempts };
}

async function probeAll(batch: ProbeBatch): Promise<ProbeOutcome[]> {
  const out: ProbeOutcome[] = new Array(batch.probes.length);
  let next = 0;
  const worker = async () => {
    while (next < batch.probes.length) {
      const i = next++;
      out[i] = await runProbe(batch.probes[i]!, batch.timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(batch.concurrency, batch.probes.length)) }, worker));
  return out;
}

async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}

async function main(argv: string[]): Promise<void> {
  const [mode, config] = argv;
  if (mode === 'serve' && config) return serve(JSON.parse(config) as ServeConfig);
  if (mode === 'probe') {
    const results = await probeAll(JSON.parse(await readStdin()) as ProbeBatch);
    process.stdout.write(JSON.stringify(results) + '\n');
    return;
  }
  process.stderr.write('usage: agent.js serve CONFIG_JSON | agent.js probe < BATCH_JSON\n');
  process.exit(64);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`agent: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
