// Addresses as one text per meaning, for comparing and keying: the rules of a compile and of a
// node's dump spell the same address many ways (iptables-save adds /32, a mask may be written
// out, IPv6 has many spellings).
import { canonicalCIDR, canonicalIP, familyOf, formatIP, formatNetwork, parseCIDR, parseIP, parseNetwork } from './ip.js';

// Addresses repeat across rules and across the two sides of a diff: parse each spelling once.
function memo(fn: (text: string) => string): (text: string) => string {
  const cache = new Map<string, string>();
  return (text) => {
    let v = cache.get(text);
    if (v === undefined) {
      if (cache.size > 1_000_000) cache.clear();
      cache.set(text, (v = fn(text)));
    }
    return v;
  };
}

/** Canonical address or CIDR, without the host prefix length; unknown text is kept. */
export const canonicalAddress = memo((text) => {
  if (text.includes('/')) {
    const c = parseCIDR(text);
    if (!c) {
      // A mask written out (`10.0.0.0/255.0.0.0`): the same network as its prefix length, as the tracer reads it.
      const family = familyOf(text.slice(0, text.indexOf('/')));
      const net = family && parseNetwork(text, family);
      return net && typeof net !== 'string' ? formatNetwork(net) : text;
    }
    const full = c.ip.family === 'ipv4' ? 32 : 128;
    return c.prefix === full ? formatIP(c.ip) : (canonicalCIDR(text) ?? text);
  }
  return canonicalIP(text) ?? text;
});

/** `ip:port` / `[ip6]:port` with a canonical address; other DNAT forms are kept as written. */
export const canonicalHostPort = memo((text) => {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) return canonicalIP(text) ?? text;
  const ip = parseIP(m[1]!);
  if (!ip) return text;
  const port = String(Number(m[2]));
  return ip.family === 'ipv6' ? `[${formatIP(ip)}]:${port}` : `${formatIP(ip)}:${port}`;
});

/** `ip:port` with a canonical address (brackets around IPv6); the port as given. */
export function hostPort(ip: string, port: string | number): string {
  const a = canonicalAddress(ip);
  return a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`;
}
