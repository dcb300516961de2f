// The API server's value rules (apimachinery validation), as zod schemas. Anything that can
// reach a rule's text passes through one of these, so a quote, space or newline can never be
// smuggled into iptables or nft syntax.
import type { z as Zod } from 'zod';
import { parseCIDR, parseIP } from '../util/ip.js';
import { DNS1035_LABEL, DNS1123_LABEL, DNS1123_SUBDOMAIN, IANA_SVC_NAME, LABEL_VALUE } from './patterns.js';

/** The rules as zod schemas, built over Z (loaded only when a fast check has failed). */
export function valueRules(z: typeof Zod) {
  const dns1123Label = z.string().max(63, { message: 'must be a DNS-1123 label of at most 63 characters' }).regex(DNS1123_LABEL, {
    message: "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
  });

  const dns1035Label = z.string().max(63, { message: 'must be a DNS-1035 label of at most 63 characters' }).regex(DNS1035_LABEL, {
    message: "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit",
  });

  const dns1123Subdomain = z
    .string()
    .max(253, { message: 'must be a DNS-1123 subdomain of at most 253 characters' })
    .regex(DNS1123_SUBDOMAIN, {
      message: "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    });

  const labelValue = z.string().max(63, { message: 'must be a label value of at most 63 characters' }).regex(LABEL_VALUE, {
    message: "must be a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
  });

  const portNumber = z
    .number({ message: 'must be a port number (an integer from 1 to 65535)' })
    .int({ message: 'must be a port number (an integer from 1 to 65535)' })
    .min(1, { message: 'must be a port number (an integer from 1 to 65535)' })
    .max(65535, { message: 'must be a port number (an integer from 1 to 65535)' });

  /** nodePort / healthCheckNodePort: 0 or absent means "none"; the allowed range is the cluster's. */
  const optionalPort = z
    .number({ message: 'must be a port number (an integer from 0 to 65535)' })
    .int({ message: 'must be a port number (an integer from 0 to 65535)' })
    .min(0, { message: 'must be a port number (an integer from 0 to 65535)' })
    .max(65535, { message: 'must be a port number (an integer from 0 to 65535)' });

  const protocol = z.enum(['TCP', 'UDP', 'SCTP'], { message: 'must be one of TCP, UDP, SCTP' });

  /** A port name on a Service or EndpointSlice: empty, or a DNS-1123 label. */
  const portName = z.union([z.literal(''), dns1123Label], {
    message: "must be empty or a DNS-1123 label: lowercase letters, digits and '-'",
  });

  /** targetPort: a number, or an IANA service name (a named container port). */
  const targetPort = z.union([
    portNumber,
    z
      .string()
      .max(15, { message: 'must be a port number or an IANA service name of at most 15 characters' })
      .regex(IANA_SVC_NAME, { message: "must be a port number or an IANA service name (lowercase letters, digits and '-')" }),
  ]);

  const ipAddress = z.string({ message: 'must be an IP address' }).refine((s) => parseIP(s) !== undefined, {
    message: 'must be a valid IP address',
  });

  const cidr = z.string({ message: 'must be a CIDR' }).refine((s) => parseCIDR(s) !== undefined, {
    message: 'must be a valid CIDR (address/prefix-length)',
  });

  /** loadBalancerSourceRanges: kube-proxy trims surrounding whitespace before parsing, and so do we. */
  const sourceRange = z
    .string({ message: 'must be a CIDR' })
    .refine((s) => parseCIDR(s.trim()) !== undefined, { message: 'must be a valid CIDR (address/prefix-length)' });
  return {
    dns1123Label,
    dns1035Label,
    dns1123Subdomain,
    labelValue,
    portNumber,
    optionalPort,
    protocol,
    portName,
    targetPort,
    ipAddress,
    cidr,
    sourceRange,
  };
}
