// --config FILE: a KubeProxyConfiguration. Only the fields that change the rules are read;
// flags given on the command line win over it, as with kube-proxy. Every field is checked
// exactly as its flag is (an empty string means unset, as kube-proxy reads it); unknown fields
// are ignored, as kube-proxy's lenient decoding does.
import yaml from 'js-yaml';
import { InputError, type Problem } from '../errors.js';
import { isDns1123Subdomain } from '../input/patterns.js';
import { interfaceNameProblem } from '../input/ifname.js';
import { ReadRefused, readFileBounded } from '../input/bounded.js';
import { LIMITS } from '../input/limits.js';
import { locate } from '../input/positions.js';
import type { DetectLocalMode, ProxyOptions } from '../model/options.js';
import { parseCIDR } from '../util/ip.js';
import { checkGate } from './flag-values.js';
import { UsageError } from '../errors.js';
import type { Host } from '../host.js';

const OBJECT = 'KubeProxyConfiguration';
const MODELLED_MODES = ['iptables', 'nftables'] as const;
const DETECT_LOCAL_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'];

// The config is decoded from YAML 1.1 by kube-proxy (sigs.k8s.io/yaml), where these words are
// booleans too; js-yaml's core schema leaves them strings.
const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readProxyConfig(host: Host, file: string): Partial<ProxyOptions> {
  let text: string;
  try {
    text = readFileBounded(host.fs, file);
  } catch (e) {
    const why = e instanceof ReadRefused ? e.message : `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
    throw new InputError([{ file, message: why }]);
  }
  let raw: unknown;
  try {
    raw = yaml.load(text, { schema: yaml.CORE_SCHEMA, maxDepth: LIMITS.depth } as yaml.LoadOptions);
  } catch (e) {
    const err = e as { reason?: string; mark?: { line: number; column: number } };
    throw new InputError([
      {
        file,
        ...(err.mark ? { line: err.mark.line + 1, column: err.mark.column + 1 } : {}),
        message: `cannot read ${OBJECT}: ${err.reason ?? (e instanceof RangeError ? 'nested too deeply' : String(e))}`,
      },
    ]);
  }
  const problems: Problem[] = [];
  const bad = (path: (string | number)[], message: string, value?: unknown, key = false) => {
    const pos = locate(text, path, { key });
    problems.push({ file, ...(pos ? { line: pos.line, column: pos.column } : {}), object: OBJECT, field: path.join('.'), message, value });
  };
  if (!isDict(raw)) {
    bad([], `must be a ${OBJECT} (a mapping)`, raw);
    throw new InputError(problems);
  }
  if (raw['apiVersion'] !== 'kubeproxy.config.k8s.io/v1alpha1')
    bad(['apiVersion'], 'must be kubeproxy.config.k8s.io/v1alpha1', raw['apiVersion']);
  if (raw['kind'] !== OBJECT) bad(['kind'], `must be ${OBJECT}`, raw['kind']);

  /** A field's value; null and absent are both "unset". */
  const get = (path: string[]): unknown => {
    let v: unknown = raw;
    for (const k of path) {
      if (v === null || v === undefined) return undefined;
      if (!isDict(v)) {
        bad(path.slice(0, path.indexOf(k)), 'must be a mapping', v);
        return undefined;
      }
      v = v[k];
    }
    return v ?? undefined;
  };
  const str = (path: string[]): string | undefined => {
    const v = get(path);
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') {
      bad(path, 'must be a string', v);
      return undefined;
    }
    return v;
  };
  const bool = (path: string[]): boolean | undefined => {
    const v = get(path);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && (YAML11_TRUE.has(v) || YAML11_FALSE.has(v))) return YAML11_TRUE.has(v);
    bad(path, 'must be true or false', v);
    return undefined;
  };
  const bit = (path: string[]): number | undefined => {
    const v = get(path);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 31) {
      bad(path, 'must be an integer from 0 to 31', v);
      return undefined;
    }
    return v;
  };

  const out: Partial<ProxyOptions> = {};
  const mode = str(['mode']);
  if (mode !== undefined) {
    if ((MODELLED_MODES as readonly string[]).includes(mode)) out.proxyMode = mode as ProxyOptions['proxyMode'];
    else if (mode === 'ipvs' || mode === 'kernelspace')
      bad(['mode'], `is a kube-proxy mode ktables does not model; ktables writes the rules of ${MODELLED_MODES.join(' and ')} mode`, mode);
    else bad(['mode'], `must be one of ${MODELLED_MODES.join(', ')} (or empty)`, mode);
  }
  const hostname = str(['hostnameOverride']);
  if (hostname !== undefined) {
    const name = hostname.trim().toLowerCase();
    if (!isDns1123Subdomain(name)) bad(['hostnameOverride'], 'is not a valid node name (a DNS-1123 subdomain)', hostname);
    else out.hostnameOverride = name;
  }
  const clusterCIDR = str(['clusterCIDR']);
  if (clusterCIDR !== undefined) {
    const cidrs = clusterCIDR
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const wrong = cidrs.filter((c) => !parseCIDR(c));
    if (wrong.length > 0)
      bad(
        ['clusterCIDR'],
        `must be a comma-separated list of CIDRs (${wrong.map((w) => JSON.stringify(w)).join(', ')} is not one)`,
        clusterCIDR,
      );
    else out.clusterCIDRs = cidrs;
  }
  const dlm = str(['detectLocalMode']);
  if (dlm !== undefined) {
    if (!DETECT_LOCAL_MODES.includes(dlm)) bad(['detectLocalMode'], `must be one of ${DETECT_LOCAL_MODES.join(', ')} (or empty)`, dlm);
    else out.detectLocalMode = dlm as DetectLocalMode;
  }
  for (const [key, opt] of [
    ['bridgeInterface', 'podBridgeInterface'],
    ['interfaceNamePrefix', 'podInterfaceNamePrefix'],
  ] as const) {
    const v = str(['detectLocal', key]);
    if (v === undefined) continue;
    const why = interfaceNameProblem(v);
    if (why) bad(['detectLocal', key], `must be an interface name: ${why}`, v);
    else out[opt] = v;
  }
  const npa = get(['nodePortAddresses']);
  if (npa !== undefined) {
    if (!Array.isArray(npa)) bad(['nodePortAddresses'], 'must be a list of CIDRs or "primary"', npa);
    else {
      npa.forEach((v, i) => {
        if (typeof v !== 'string' || (v !== 'primary' && !parseCIDR(v.trim())))
          bad(['nodePortAddresses', i], 'must be a CIDR or "primary"', v);
      });
      if (npa.length > 0 && problems.length === 0) out.nodePortAddresses = (npa as string[]).map((s) => s.trim());
    }
  }
  // kube-proxy's v1alpha1 conversion takes masqueradeAll / masqueradeBit from the section of
  // the configured mode (nftables for nftables, iptables otherwise); `linux` wins when set.
  const section = mode === 'nftables' ? 'nftables' : 'iptables';
  const masqAll = bool(['linux', 'masqueradeAll']) ?? bool([section, 'masqueradeAll']);
  if (masqAll !== undefined) out.masqueradeAll = masqAll;
  const masqBit = bit([section, 'masqueradeBit']);
  if (masqBit !== undefined) out.masqueradeBit = masqBit;
  const lhnp = bool(['iptables', 'localhostNodePorts']);
  if (lhnp !== undefined) out.localhostNodePorts = lhnp;
  const liberal = bool(['conntrack', 'tcpBeLiberal']);
  if (liberal !== undefined) out.conntrackTcpBeLiberal = liberal;
  const gates = get(['featureGates']);
  if (gates !== undefined) {
    if (!isDict(gates)) bad(['featureGates'], 'must be a mapping of gate names to true or false', gates);
    else {
      const notes: string[] = [];
      for (const [name, value] of Object.entries(gates)) {
        try {
          const v = checkGate(name, value, 'featureGates', notes);
          if (name === 'PreferSameTrafficDistribution') out.preferSameTrafficDistribution = v;
          if (name === 'KubeProxyNFTablesLocalhostNodePorts') out.localhostNodePortsGate = v;
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          bad(['featureGates', name], e.message.replace(/^featureGates: /, ''), undefined, /unrecognized/.test(e.message));
        }
      }
      if (notes.length > 0) out.notes = notes;
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  return out;
}
