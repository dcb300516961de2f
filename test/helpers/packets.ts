// Packets and nodes the tracer tests share: a node with one IPv4 address and a TCP packet
// builder, so each test names only what it varies.
import type { TracePacket } from '../../src/trace/packet.js';

export const NODE4 = { family: 'ipv4' as const, addresses: ['192.168.10.5'] };

export const tcp = (src: string, dst: string, dport: number, extra: Partial<TracePacket> = {}): TracePacket => ({
  src,
  dst,
  dport,
  protocol: 'tcp',
  ...extra,
});
