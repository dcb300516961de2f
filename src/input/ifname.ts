// Network interface names (--pod-bridge-interface, --pod-interface-name-prefix, trace
// --in-interface, the config's detectLocal): the kernel's rules (dev_valid_name: at most 15
// bytes, not "." or "..", no '/', ':' or whitespace), narrowed to what both rule languages can
// carry without changing meaning: printable ASCII without quotes or backslashes (they are
// iptables-restore and nft syntax), without '*' and '+' (wildcards in nft and iptables) and
// without '@' (see below).
const IFNAMSIZ = 15;

/** Why NAME cannot be an interface name, or undefined when it can. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  if (Buffer.byteLength(name, 'utf8') > IFNAMSIZ) return `must be at most ${IFNAMSIZ} bytes (the kernel's IFNAMSIZ)`;
  if (/[^\x21-\x7e]/.test(name)) return 'must hold only printable ASCII characters (no whitespace or control characters)';
  const bad = /[/:"'\\*+]/.exec(name);
  if (bad) return `must not contain ${JSON.stringify(bad[0])}`;
  // The kernel would take '@', but `ip link` prints a veth as NAME@PEER: a name holding '@' is
  // almost surely that display copied by mistake.
  if (name.includes('@')) return 'must not contain "@" (ip link shows a veth as NAME@PEER; the name is the part before "@")';
  return undefined;
}

// nft reads a bare word as a string only when it lexes as one (a letter, '_' or '.', then
// letters, digits, '_', '.', '-', '/') and is not one of its keywords; a trailing '*' makes
// any such word a wildcard string. Everything else must be quoted. kube-proxy writes the name
// bare, so ktables quotes only where nft would otherwise refuse or misread the rule.
const NFT_WORD = /^[A-Za-z_.][A-Za-z0-9_./-]*$/;
const NFT_KEYWORDS = new Set(
  (
    'accept add ah arp at bridge chain comment comp continue counter ct dccp delete device devices dnat drop dst dup element ' +
    'esp exthdr fib flow frag fwd goto handle hbh hook icmp icmpv6 index insert inet ip ip6 ipsec jhash jump last limit log map mark ' +
    'masquerade meta mh netdev notrack numgen offload osf policy position priority queue quota redirect reject return rt rule ' +
    'sctp secmark set snat symhash synproxy table th tproxy tcp type udp udplite vmap'
  ).split(' '),
);

/** True when NAME (a full name, or a prefix followed by '*') must be quoted in nft syntax. */
export function nftNeedsQuote(name: string): boolean {
  const wildcard = name.endsWith('*');
  const word = wildcard ? name.slice(0, -1) : name;
  if (!NFT_WORD.test(word)) return true;
  return !wildcard && NFT_KEYWORDS.has(word);
}
