// kube-proxy's iptables rule comments, both ways: the builders the backend writes them with and
// the parser diff and trace read them back with. Each comment names one service port
// (`ns/name[:port]`, never with spaces: DNS labels and IANA_SVC_NAME), so the parser is derived
// from the builders and cannot drift from them.

/** What each comment says about its service port `s`. */
export const IPT_COMMENT = {
  clusterIP: (s: string) => `${s} cluster IP`,
  externalIP: (s: string) => `${s} external IP`,
  loadBalancerIP: (s: string) => `${s} loadbalancer IP`,
  noEndpoints: (s: string) => `${s} has no endpoints`,
  noLocalEndpoints: (s: string) => `${s} has no local endpoints`,
  healthCheckNodePort: (s: string) => `${s} health check node port`,
  notAccepted: (s: string, fwChain: string) => `${s} traffic not accepted by ${fwChain}`,
  masqueradeExternal: (s: string) => `masquerade traffic for ${s} external destinations`,
  podExternal: (s: string) => `pod traffic for ${s} external destinations`,
  masqueradeLocalExternal: (s: string) => `masquerade LOCAL traffic for ${s} external destinations`,
  routeLocalExternal: (s: string) => `route LOCAL traffic for ${s} external destinations`,
  otherDropped: (s: string) => `other traffic to ${s} will be dropped by KUBE-PROXY-FIREWALL`,
  endpoint: (s: string, endpoint: string) => `${s} -> ${endpoint}`,
  /** The bare service port name (endpoint rules, KUBE-NODEPORTS). */
  servicePort: (s: string) => s,
} as const;

/** The NodePort dispatch rule's comment: it must stay the last rule of nat KUBE-SERVICES. */
export const NODEPORTS_LAST_RULE_COMMENT = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';
/** How that comment is recognised, also in dumps that reword it. */
export const isLastRuleComment = (text: string): boolean => text.includes('must be the last rule');

type CommentKind = keyof typeof IPT_COMMENT;

export interface ParsedComment {
  kind: CommentKind;
  /** The service port the comment names. */
  service: string;
}

const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Each builder with placeholders for its arguments becomes its pattern: the service port is
// captured, any other argument (a chain, an endpoint) is one word.
const PATTERNS: [CommentKind, RegExp][] = (Object.keys(IPT_COMMENT) as CommentKind[]).map((kind) => {
  if (kind === 'servicePort') return [kind, /^([^\s/]+\/[^\s/]+)$/];
  const text = (IPT_COMMENT[kind] as (s: string, x: string) => string)('\u0000', '\u0001');
  return [kind, new RegExp(`^${escape(text).replace('\u0000', '(\\S+)').replace('\u0001', '\\S+')}$`)];
});

/** The kube-proxy comment a text is, and the service port it names; undefined for any other text. */
export function parseComment(text: string): ParsedComment | undefined {
  for (const [kind, re] of PATTERNS) {
    const m = re.exec(text);
    if (m) return { kind, service: m[1]! };
  }
  return undefined;
}
