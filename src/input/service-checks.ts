// The API server's rules for a Service's cluster IPs (validateServiceClusterIPsRelatedFields):
// kube-proxy trusts the API server to have enforced them, so a manifest that breaks them would
// otherwise compile into something no cluster can hold (a Service vanishing from both families).
import { familyOf } from '../util/ip.js';
import type { ServiceObject } from './schemas.js';

export interface FieldProblem {
  field: string;
  message: string;
  value?: unknown;
}

const FAMILY_NAME = { ipv4: 'IPv4', ipv6: 'IPv6' } as const;

export function clusterIPProblems(spec: ServiceObject['spec']): FieldProblem[] {
  const out: FieldProblem[] = [];
  const ips = spec.clusterIPs ?? [];
  const single = spec.clusterIP ?? '';
  if (ips.length > 0 && single !== '' && ips[0] !== single) {
    out.push({ field: 'spec.clusterIPs[0]', message: `must be the same as spec.clusterIP (${JSON.stringify(single)})`, value: ips[0] });
  }
  ips.forEach((ip, i) => {
    if (ip === 'None' && (i > 0 || ips.length > 1))
      out.push({ field: `spec.clusterIPs[${i}]`, message: "'None' must be the first and only value", value: ip });
  });
  if (ips.length === 2 && ips[0] !== 'None' && ips[1] !== 'None' && familyOf(ips[0]!) === familyOf(ips[1]!)) {
    out.push({ field: 'spec.clusterIPs', message: 'may specify no more than one IP for each IP family', value: ips });
  }
  if (ips.length > 1 && spec.ipFamilyPolicy === 'SingleStack') {
    out.push({
      field: 'spec.ipFamilyPolicy',
      message: 'must be RequireDualStack or PreferDualStack when multiple cluster IPs are given',
      value: spec.ipFamilyPolicy,
    });
  }
  const families = spec.ipFamilies ?? [];
  if (families.length === 2 && families[0] === families[1]) {
    out.push({ field: 'spec.ipFamilies[1]', message: 'duplicate IP family', value: families[1] });
  }
  families.forEach((f, i) => {
    const ip = ips[i];
    if (ip === undefined || ip === 'None') return;
    const fam = familyOf(ip);
    if (fam && FAMILY_NAME[fam] !== f)
      out.push({
        field: `spec.ipFamilies[${i}]`,
        message: `must match the IP family of spec.clusterIPs[${i}] (${FAMILY_NAME[fam]})`,
        value: f,
      });
  });
  return out;
}
