// SCTP for the lab. Kernels without SCTP sockets (CONFIG_IP_SCTP unset, common on CI VMs) still
// track and NAT SCTP, so the probe speaks just enough SCTP over raw IPv4 sockets: an INIT, and
// the responder's INIT-ACK, whose State Cookie carries the {"role","server","client"} it saw.
// That proves the first packet's NAT and filter verdict and the way back; it is not a full
// association. conntrack checks the CRC32c, so the packets carry a correct one.
//
// The helper is Python (raw sockets, no dependencies); it speaks the agent's JSON: `serve
// CONFIG` prints READY, `probe` reads a ProbeBatch on stdin and prints ProbeOutcome[].
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HELPER = String.raw`
import json, os, random, select, socket, struct, sys, time

def table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t
T = table()

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

def packet(sport, dport, vtag, chunk):
    p = struct.pack('!HHII', sport, dport, vtag, 0) + chunk
    return p[:8] + struct.pack('<I', crc32c(p)) + p[12:]

def init(tag):
    return struct.pack('!BBHIIHHI', 1, 0, 20, tag, 65535, 1, 1, random.getrandbits(32))

def init_ack(tag, cookie):
    param = struct.pack('!HH', 7, 4 + len(cookie)) + cookie
    param += b'\0' * (-len(param) % 4)
    body = struct.pack('!IIHHI', tag, 65535, 1, 1, random.getrandbits(32)) + param
    return struct.pack('!BBH', 2, 0, 4 + len(body)) + body

def split(buf):
    ihl = (buf[0] & 0x0F) * 4
    return socket.inet_ntoa(buf[12:16]), socket.inet_ntoa(buf[16:20]), buf[9], buf[ihl:]

def serve(cfg):
    bound = {(b['ip'], b['port']): b.get('role', cfg['role']) for b in cfg['bind'] if b['proto'] == 'sctp'}
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
    print('READY', flush=True)
    while True:
        src, dst, _, s = split(rx.recv(65535))
        if len(s) < 32 or s[12] != 1:
            continue
        sport, dport = struct.unpack('!HH', s[:4])
        if (dst, dport) not in bound:
            continue
        peer = struct.unpack('!I', s[16:20])[0]
        cookie = json.dumps({'role': bound[(dst, dport)], 'server': '%s:%d' % (dst, dport), 'client': '%s:%d' % (src, sport)}).encode()
        tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
        tx.bind((dst, 0))  # from the address it was sent to, or conntrack cannot undo the DNAT
        tx.sendto(packet(dport, sport, peer, init_ack(random.getrandbits(32) | 1, cookie)), (src, 0))
        tx.close()

def cookie_of(s):
    off = 32
    while off + 4 <= len(s):
        ptype, plen = struct.unpack('!HH', s[off:off + 4])
        if ptype == 7:
            return json.loads(s[off + 4:off + plen])
        if plen < 4:
            break
        off += plen + (-plen % 4)
    return None

def probe(batch):
    timeout = batch['timeoutMs'] / 1000.0
    state = {p['id']: {'p': p, 'attempts': [], 'missing': set(p['until']), 'done': False} for p in batch['probes']}
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    while True:
        pending = [st for st in state.values() if not st['done']]
        if not pending:
            break
        live = {}
        socks = []
        for st in pending:
            p = st['p']
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
            s.bind((p['src'], 0))
            sport = random.randint(20000, 60000)
            tag = random.getrandbits(32) | 1
            try:
                s.sendto(packet(sport, p['port'], 0, init(tag)), (p['dst'], 0))
            except PermissionError:
                pass  # turned away by netfilter on the way out: a REJECT still sends its ICMP
            live[sport] = (st, s, tag, time.monotonic())
            socks.append(s)
        deadline = time.monotonic() + timeout
        while live and time.monotonic() < deadline:
            ready, _, _ = select.select(socks + [icmp], [], [], max(0, deadline - time.monotonic()))
            for r in ready:
                buf = r.recv(65535)
                if r is icmp:
                    _, _, _, ic = split(buf)
                    if len(ic) < 32 or ic[0] != 3:
                        continue
                    _, _, proto, inner = split(ic[8:])
                    sport = struct.unpack('!H', inner[:2])[0] if proto == 132 and len(inner) >= 2 else None
                    if sport in live:
                        st, s, tag, t0 = live.pop(sport)
                        st['attempts'].append({'result': 'refused' if ic[1] in (2, 3) else 'unreachable', 'ms': int((time.monotonic() - t0) * 1000)})
                    continue
                _, _, _, s = split(buf)
                if len(s) < 16 or s[12] != 2:
                    continue
                ps, pd, vt = struct.unpack('!HHI', s[:8])
                if pd in live and live[pd][2] == vt:
                    st, sock, tag, t0 = live.pop(pd)
                    c = cookie_of(s) or {}
                    st['attempts'].append({'result': 'ok', 'role': c.get('role'), 'server': c.get('server'), 'client': c.get('client'), 'ms': int((time.monotonic() - t0) * 1000)})
        for sport, (st, s, tag, t0) in live.items():
            st['attempts'].append({'result': 'timeout', 'ms': int(timeout * 1000)})
        for s in socks:
            s.close()
        for st in pending:
            a = st['attempts'][-1]
            p = st['p']
            if a['result'] != 'ok' or len(st['attempts']) >= max(1, p['tries']):
                st['done'] = True
            elif p['until']:
                if a.get('server') not in p['until']:
                    st['done'] = True
                else:
                    st['missing'].discard(a['server'])
                    st['done'] = not st['missing']
    print(json.dumps([{'id': i, 'attempts': st['attempts']} for i, st in state.items()]))

if __name__ == '__main__':
    if sys.argv[1] == 'serve':
        serve(json.loads(sys.argv[2]))
    else:
        probe(json.loads(sys.stdin.read()))
`;

/** Writes the helper to a private temporary directory; returns its path and a remover. */
export function materializeSctpHelper(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ktables-sctp-'));
  const path = join(dir, 'sctp-helper.py');
  writeFileSync(path, HELPER.trimStart(), { mode: 0o600 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
