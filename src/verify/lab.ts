// The disposable lab: three network namespaces wired like a node in a cluster.
//
//   <id>-out  "outside"                 <id>-node  "the node"                   <id>-pods  "pods"
//   eth0: external client IPs   <---->  OUTIF: node IPs            PODIF: gateway  <---->  eth0: every endpoint IP
//         catch-all responder           kube-proxy's rules         (masquerade           and pod client IP,
//         (every address local)         responder on node addrs     source)               responder on endpoints
//
// Both side namespaces send everything they originate through the node (policy routing: a
// packet from a local socket looks up table 100, whose default route is the node), even to
// their own addresses: pod → service → pod and the outside's catch-all replies then cross the
// node both ways, so conntrack sees and un-NATs them. The masquerade source is a gateway
// address on the pod side that no client uses, so masquerading is visible to the responder even
// for traffic the node itself sends. The outside namespace owns every address (a local route
// for 0/0): a packet the rules leave alone is answered there, "passed through".
import type { Family } from '../util/ip.js';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SystemError } from '../errors.js';
import type { System } from '../apply/system.js';
import type { Binding, ProbeBatch, ProbeOutcome, ProbeRequest, Role, ServeConfig } from './agent.js';
import { materializeSctpHelper } from './sctp.js';

export type Place = 'node' | 'pods' | 'out';

export interface LabSpec {
  family: Family;
  /** Every node IP (both families; all go on the node). */
  nodeIPs: string[];
  /** Pod-side addresses of the lab's family: endpoints and pod clients. */
  podIPs: string[];
  /** Outside client addresses of the lab's family. */
  outsideIPs: string[];
  /** Node-side interface names: interface-based local detection matches on them. */
  podInterface: string;
  outsideInterface: string;
  servers: { place: Place; role: Role; bind: Binding[] }[];
}

/** How the lab runs a helper: the agent (TCP/UDP) or the SCTP helper, in a namespace. */
export interface HelperCommand {
  cmd: string;
  args: string[];
}

// Link addresses no cluster uses: the node's gateway towards the pods (and masquerade source),
// and the two ends of the link to the outside.
const LINK = {
  ipv4: { podGateway: '169.254.99.1', outGateway: '169.254.98.1', outPeer: '169.254.98.2', masq: '169.254.99.1' },
  ipv6: { podGateway: 'fe80::1', outGateway: 'fe80::1', outPeer: 'fe80::2', masq: 'fdff:6b74:6c61:62::1' },
};

const live = new Set<Lab>();
let hooked = false;

/** Labs are torn down on exit and on Ctrl-C / SIGTERM, whatever the caller was doing. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const lab of [...live]) lab.teardownSync();
  });
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      for (const lab of [...live]) lab.teardownSync();
      process.exit(code);
    });
  }
}

/** The compiled agent script next to this module (in dist/, also when this file runs from src/). */
function agentScript(): string {
  const here = fileURLToPath(import.meta.url);
  const candidates = [here.replace(/lab\.(ts|js)$/, 'agent.js'), here.replace(/\/src\/verify\/lab\.ts$/, '/dist/verify/agent.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new SystemError(`verify's helper script is not built (looked for ${candidates.join(', ')}): run npx tsc -p .`);
  return found;
}

export function labNames(id: string): Record<Place, string> {
  return { node: `${id}-node`, pods: `${id}-pods`, out: `${id}-out` };
}

function newId(): string {
  for (;;) {
    const id = `kt${randomBytes(3).toString('hex')}`;
    if (!Object.values(labNames(id)).some((n) => existsSync(`/run/netns/${n}`))) return id;
  }
}

interface Server {
  kill: () => void;
  /** Stop holding it: it lives on after this process. */
  release: () => void;
  /** Runs a probe round in the helper (the agent answers them on stdin). */
  probe: (batch: ProbeBatch, timeoutMs: number) => Promise<ProbeOutcome[]>;
}

/** What a place's own agent answers as, when it serves nothing else. */
const PLACE_ROLE: Record<Place, Role> = { node: 'node', pods: 'endpoint', out: 'outside' };

// A responder reports READY once its sockets are bound, or why not, or exits: that is what
// start-up waits on. The bound only catches a helper that hangs; a loaded machine can take
// seconds to start a dozen Node processes at once.
const START_BOUND_MS = 60_000;

export class Lab {
  readonly ns: Record<Place, string>;
  private servers: Server[] = [];
  /** Each place's TCP/UDP agent: it serves that place's bindings and runs its probes. */
  private agents = new Map<Place, Promise<Server>>();
  private down = false;
  kept = false;
  /** The SCTP helper script, when the lab has SCTP to serve or probe and python3 is there. */
  private sctp: { path: string; remove: () => void } | undefined;

  private constructor(
    private readonly sys: System,
    readonly id: string,
    readonly spec: LabSpec,
    private readonly lasting: boolean,
  ) {
    this.ns = labNames(id);
  }

  /** keep: the responders are started so that they outlive this process (see keep()). */
  static async create(sys: System, spec: LabSpec, o: { keep?: boolean } = {}): Promise<Lab> {
    sys.requireTools(['ip', 'sysctl']);
    hookExit();
    const lab = new Lab(sys, newId(), spec, o.keep ?? false);
    live.add(lab);
    try {
      await lab.build();
      await lab.startServers();
    } catch (e) {
      await lab.teardown();
      throw e;
    }
    return lab;
  }

  private async batch(lines: string[], o: { netns?: string; v6?: boolean } = {}): Promise<void> {
    const args = [...(o.v6 ? ['-6'] : []), ...(o.netns ? ['-n', o.netns] : []), '-batch', '-'];
    await this.sys.run('ip', args, { input: lines.join('\n') + '\n' });
  }

  private async build(): Promise<void> {
    const { spec, ns } = this;
    const v6 = spec.family === 'ipv6';
    const L = LINK[spec.family];
    // IPv6 addresses skip duplicate address detection: a tentative address cannot be bound.
    const addr = (ip: string, dev: string) => (ip.includes(':') ? `addr add ${ip}/128 dev ${dev} nodad` : `addr add ${ip}/32 dev ${dev}`);
    const rules = (table: number) => [
      `rule add pref 5 to ${v6 ? '::1/128' : '127.0.0.0/8'} lookup local`,
      `rule add pref 10 iif lo lookup ${table}`,
      'rule add pref 100 lookup local',
      'rule del pref 0',
    ];

    await this.batch(Object.values(ns).map((n) => `netns add ${n}`));
    // Defaults first: interfaces created afterwards inherit them (send_redirects is OR-ed with
    // the interface's own value, so "all" alone would not do).
    const common = [
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
      'net.ipv4.conf.all.accept_redirects=0',
      'net.ipv4.conf.default.accept_redirects=0',
      'net.ipv6.conf.all.accept_redirects=0',
      'net.ipv6.conf.default.accept_redirects=0',
    ];
    const nodeSysctls = [
      ...common,
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
      // kube-proxy's localhost NodePorts need it; apply sets it too, the lab does not wait for that.
      'net.ipv4.conf.all.route_localnet=1',
      // Probes run in parallel from a handful of clients: the per-client ICMP error budget (six
      // at once, then one a second, and IPv6 redirects spend it too) would turn a REJECT into
      // a timeout. The rules are under test, not the rate limiter.
      'net.ipv4.icmp_ratelimit=0',
      'net.ipv6.icmp.ratelimit=0',
    ];
    const sideSysctls = [...common, 'net.ipv4.conf.all.accept_local=1', 'net.ipv4.conf.default.accept_local=1'];
    await Promise.all([
      this.sys.run('sysctl', ['-q', '-w', ...nodeSysctls], { netns: ns.node }),
      this.sys.run('sysctl', ['-q', '-w', ...sideSysctls], { netns: ns.pods }),
      this.sys.run('sysctl', ['-q', '-w', ...sideSysctls, 'net.ipv4.ip_nonlocal_bind=1', 'net.ipv6.ip_nonlocal_bind=1'], { netns: ns.out }),
    ]);
    await this.batch(
      [
        `link add ${spec.podInterface} type veth peer name eth0 netns ${ns.pods}`,
        `link add ${spec.outsideInterface} type veth peer name eth0 netns ${ns.out}`,
      ],
      { netns: ns.node },
    );

    const gw = (ip: string, dev: string) => (v6 ? `${ip}/64 dev ${dev} nodad` : `${ip}/32 dev ${dev}`);
    await Promise.all([
      this.batch(
        [
          'link set lo up',
          `link set ${spec.podInterface} up`,
          `link set ${spec.outsideInterface} up`,
          `addr add ${gw(L.outGateway, spec.outsideInterface)}`,
          `addr add ${gw(L.podGateway, spec.podInterface)}`,
          ...(v6 ? [addr(L.masq, spec.podInterface)] : []),
          ...spec.nodeIPs.map((ip) => addr(ip, spec.outsideInterface)),
          ...spec.podIPs.map((ip) => `route add ${ip}/${v6 ? 128 : 32} dev ${spec.podInterface}`),
          ...spec.outsideIPs.map((ip) => `route add ${ip}/${v6 ? 128 : 32} via ${L.outPeer} dev ${spec.outsideInterface} onlink`),
          `route add default via ${L.outPeer} dev ${spec.outsideInterface} onlink`,
        ],
        { netns: ns.node },
      ),
      this.batch(
        [
          'link set lo up',
          'link set eth0 up',
          ...(v6 ? [`addr add fe80::2/64 dev eth0 nodad`] : []),
          ...spec.podIPs.map((ip) => addr(ip, 'eth0')),
        ],
        { netns: ns.pods },
      ),
      this.batch(
        ['link set lo up', 'link set eth0 up', `addr add ${gw(L.outPeer, 'eth0')}`, ...spec.outsideIPs.map((ip) => addr(ip, 'eth0'))],
        { netns: ns.out },
      ),
    ]);
    await Promise.all([
      this.batch(
        [
          `route add default via ${L.podGateway} dev eth0 onlink`,
          `route add default via ${L.podGateway} dev eth0 onlink table 100`,
          ...rules(100),
        ],
        { netns: ns.pods, v6 },
      ),
      this.batch(
        [
          `route add default via ${L.outGateway} dev eth0 onlink`,
          `route add default via ${L.outGateway} dev eth0 onlink table 100`,
          // Last: with every address local, the kernel would refuse the gateway above.
          `route add local ${v6 ? '::/0' : '0.0.0.0/0'} dev lo table local`,
          ...rules(100),
        ],
        { netns: ns.out, v6 },
      ),
    ]);
  }

  /** SCTP goes to the raw-socket helper; undefined when it cannot run here (then: not run). */
  sctpHelper(): HelperCommand | undefined {
    if (this.spec.family !== 'ipv4' || !this.sys.which('python3')) return undefined;
    this.sctp ??= materializeSctpHelper();
    return { cmd: 'python3', args: [this.sctp.path] };
  }

  /** The command that serves or probes `proto` in this lab. */
  helper(proto: Binding['proto']): HelperCommand | undefined {
    return proto === 'sctp' ? this.sctpHelper() : { cmd: process.execPath, args: [agentScript()] };
  }

  private serverConfigs(): { place: Place; role: Role; helper: HelperCommand; cfg: ServeConfig }[] {
    const exitWithStdin = !this.lasting;
    const out = [];
    for (const s of this.spec.servers) {
      for (const sctp of [false, true]) {
        const bind = s.bind.filter((b) => (b.proto === 'sctp') === sctp);
        const helper = this.helper(sctp ? 'sctp' : 'tcp');
        if (bind.length === 0 || !helper) continue;
        out.push({ place: s.place, role: s.role, helper, cfg: { role: s.role, bind, exitWithStdin } });
      }
    }
    return out;
  }

  private async startServers(): Promise<void> {
    await Promise.all(
      this.serverConfigs().map(({ place, role, helper, cfg }) => {
        const server = this.startServer(place, role, helper, cfg);
        if (helper.cmd === process.execPath) this.agents.set(place, server);
        return server;
      }),
    );
  }

  /** Runs a probe round from `place` in its agent, starting one there when nothing is served. */
  async probe(place: Place, batch: ProbeBatch, timeoutMs: number): Promise<ProbeOutcome[]> {
    let agent = this.agents.get(place);
    if (!agent) {
      const role = PLACE_ROLE[place];
      agent = this.startServer(place, role, this.helper('tcp')!, { role, bind: [], exitWithStdin: !this.lasting });
      this.agents.set(place, agent);
    }
    return (await agent).probe(batch, timeoutMs);
  }

  private startServer(place: Place, role: Role, helper: HelperCommand, cfg: ServeConfig): Promise<Server> {
    const ns = this.ns[place];
    const where = `the ${role} responder in ${ns}`;
    const child = this.sys.start(helper.cmd, [...helper.args, 'serve', JSON.stringify(cfg)], { netns: ns, detached: this.lasting });
    const waiting = new Map<number, { resolve: (r: ProbeOutcome[]) => void; reject: (e: Error) => void }>();
    let nextId = 0;
    let said = '';
    let err = '';
    const server: Server = {
      kill: () => child.kill('SIGKILL'),
      release: () => {
        child.unref();
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
      },
      probe: (batch, timeoutMs) =>
        new Promise((resolve, reject) => {
          const id = nextId++;
          const timer = setTimeout(() => {
            waiting.delete(id);
            reject(new SystemError(`the probe helper in ${ns} gave no results within ${timeoutMs} ms`, said + err));
          }, timeoutMs);
          const done = () => (clearTimeout(timer), waiting.delete(id));
          waiting.set(id, { resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) });
          this.sys.log?.(`+ (probe round of ${batch.probes.length} in ${ns})`);
          child.stdin?.write(JSON.stringify({ id, batch } satisfies ProbeRequest) + '\n');
        }),
    };
    this.servers.push(server);
    child.catch(() => {});
    child.stdin?.on('error', () => {});
    return new Promise<Server>((resolve, reject) => {
      let ready = false;
      let buf = '';
      const timer = setTimeout(
        () => reject(new SystemError(`${where} did not start within ${START_BOUND_MS / 1000} s`, said + err)),
        START_BOUND_MS,
      );
      const line = (l: string) => {
        const result = /^RESULT (\d+) (.*)$/.exec(l);
        if (result) {
          const w = waiting.get(Number(result[1]));
          try {
            w?.resolve(JSON.parse(result[2]!) as ProbeOutcome[]);
          } catch {
            w?.reject(new SystemError(`the probe helper in ${ns} printed no results`, l));
          }
          return;
        }
        said += l + '\n';
        if (ready) return;
        if (l === 'READY') {
          ready = true;
          clearTimeout(timer);
          resolve(server);
        } else if (l.startsWith('ERROR ')) {
          clearTimeout(timer);
          reject(new SystemError(`${where} failed`, said + err));
        }
      };
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          line(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (!ready) reject(new SystemError(`${where} exited (${code})`, said + err));
        for (const w of [...waiting.values()]) w.reject(new SystemError(`the probe helper in ${ns} exited (${code})`, said + err));
      });
    });
  }

  /**
   * Leaves the lab up after this process ends. The responders were started detached (create's
   * keep): let go of them and they carry on, re-parented to init.
   */
  keep(): void {
    if (!this.lasting) throw new Error('Lab.keep() needs Lab.create(..., { keep: true })');
    this.kept = true;
    live.delete(this);
    for (const s of this.servers) s.release();
    this.servers = [];
  }

  async teardown(): Promise<void> {
    this.teardownSync();
  }

  /** Synchronous, so it also runs from an exit handler. Idempotent. */
  teardownSync(): void {
    if (this.down || this.kept) return;
    this.down = true;
    live.delete(this);
    for (const s of this.servers) {
      try {
        s.kill();
      } catch {
        // already gone
      }
    }
    destroyLab(this.sys, this.id);
    this.sctp?.remove();
  }

  enterHelp(): string {
    const { node, pods, out } = this.ns;
    return [
      `lab ${this.id} left up (--keep):`,
      `  ip netns exec ${node} bash     # the node: iptables-save, nft list ruleset, conntrack -L`,
      `  ip netns exec ${pods} bash     # the pods: every endpoint address`,
      `  ip netns exec ${out} bash      # the outside: external clients`,
      `  remove it with: ktables verify --down ${this.id}`,
    ].join('\n');
  }
}

/**
 * Removes a lab's namespaces, killing whatever still runs in them first: `ip netns del` does not,
 * and a process left inside keeps the namespace alive without a name.
 */
export function destroyLab(sys: System, id: string): string[] {
  const removed = Object.values(labNames(id)).filter((n) => existsSync(`/run/netns/${n}`));
  if (removed.length === 0) return removed;
  // One `ip -batch` lists them all, one deletes them all (-force: go on past a gone one).
  const batch = (cmd: string) => ({ input: removed.map((n) => `netns ${cmd} ${n}`).join('\n') + '\n', allowFailure: true });
  const pids = sys.runSync('ip', ['-force', '-batch', '-'], batch('pids')).stdout.split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  sys.runSync('ip', ['-force', '-batch', '-'], batch('del'));
  return removed;
}
