// A rule file of any format, read into its IR: the one entry point trace and apply use (diff
// shares the scanner and the rule-line parser through chain-cache.ts); the format is decided once,
// by scan.ts's detectFormat, for every command. Errors name the file.
import type { Family } from '../util/ip.js';
import { RuleError } from '../errors.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import type { NftRuleset } from '../ir/nftables.js';
import { dumpFamily, guessIptablesFamily, readScannedIptables } from './iptables.js';
import { parseNftables } from './nftables.js';
import { cleanText, detectFormat, scanRules, type RulesFormat } from './scan.js';
import { nftListingWarnings } from './nft-check.js';

export type ReadRules =
  | { kind: 'iptables'; format: RulesFormat; ruleset: IptablesRuleset; text: string; notes: string[]; warnings: string[] }
  | { kind: 'nftables'; format: RulesFormat; ruleset: NftRuleset; text: string; notes: string[]; warnings: string[] }
  | { kind: 'manifests'; format: 'manifests'; notes: string[]; warnings: string[] };

/** Prefixes a rule error with the file it is about. */
export function inFile<T>(source: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RuleError && !e.message.startsWith(`${source}: `)) throw new RuleError(`${source}: ${e.message}`);
    throw e;
  }
}

/** What a text holds, by content: the sniffer of scan.ts (detectFormat), one word per backend. */
export function rulesKind(text: string): ReadRules['kind'] {
  const f = detectFormat(cleanText(text).text);
  return f === 'manifests' ? 'manifests' : f.startsWith('nft') ? 'nftables' : 'iptables';
}

/** The family of a rules text of `kind`: the first address in iptables text tells; an nft listing, by its kube-proxy tables. */
export function rulesFamily(kind: 'iptables' | 'nftables', text: string): Family {
  if (kind === 'iptables') {
    // Only a rule set without any address reads the whole text.
    const m = /\s-[sd]\s+(?:!\s*)?([0-9a-fA-F.:]+)|--to-destination\s+(\[)/.exec(text);
    if (m) return m[2] || m[1]!.includes(':') ? 'ipv6' : 'ipv4';
    return guessIptablesFamily(text);
  }
  // A dual-stack node lists both kube-proxy tables: IPv4 unless only the IPv6 one is there.
  const ip4 = /^\s*(add\s+)?table\s+ip\s+kube-proxy\b/m.test(text);
  const ip6 = /^\s*(add\s+)?table\s+ip6\s+kube-proxy\b/m.test(text);
  return ip6 && !ip4 ? 'ipv6' : 'ipv4';
}

/**
 * Reads rule text by its content. `family` for iptables text: given, or guessed from the
 * addresses in it (ip6tables-save has IPv6 ones), else `fallback`.
 */
export function readRules(text: string, source: string, family?: Family, fallback: Family = 'ipv4'): ReadRules {
  return inFile(source, () => {
    const scanned = scanRules(text);
    const { notes, warnings } = scanned;
    if (scanned.format === 'manifests') return { kind: 'manifests', format: 'manifests', notes, warnings };
    if (scanned.tables) {
      const r = readScannedIptables(scanned, family ?? dumpFamily(scanned.text, fallback));
      return { kind: 'iptables', format: r.format, ruleset: r.ruleset, text: scanned.text, notes: r.notes, warnings: r.warnings };
    }
    const ruleset = parseNftables(scanned.text);
    return {
      kind: 'nftables',
      format: scanned.format,
      ruleset,
      text: scanned.text,
      notes,
      warnings: [...warnings, ...nftListingWarnings(ruleset)],
    };
  });
}
