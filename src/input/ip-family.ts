// The family of an address as the input checks need it, without parseIP's 16-byte address for
// the common case: a plain dotted quad (no leading zeros, octets up to 255), which parseIP
// reads as IPv4 in every case. Anything else goes to parseIP.
import { parseIP, type Family } from '../util/ip.js';

function isDottedQuad(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let octets = 0;
  let i = 0;
  for (;;) {
    const start = i;
    let value = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return false;
    octets++;
    if (i === n) return octets === 4;
    if (octets === 4 || s.charCodeAt(i) !== 46) return false;
    i++;
  }
}

/** The family of the address TEXT, or undefined when it is not an address kube-proxy reads. */
export function ipFamily(text: string): Family | undefined {
  return isDottedQuad(text) ? 'ipv4' : parseIP(text)?.family;
}
