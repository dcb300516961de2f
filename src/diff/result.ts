// What a diff found: the result compare.ts computes and format/* print (json.ts maps it to the
// documented schema, so these types can change without changing the JSON).
import type { Hunk } from '../util/line-diff.js';
import type { DestinationKind, DiffSide, ServiceSummary } from './types.js';

/** One kind of change in words (words.ts writes them). */
export type ChangeKind =
  | 'added'
  | 'removed'
  | 'protocol'
  | Exclude<DestinationKind, 'externalIPOrLoadBalancerIP'>
  | 'destinationKind'
  | 'handling'
  | 'endpoints'
  | 'sourceRanges'
  | 'sessionAffinity'
  | 'internalTrafficPolicy'
  | 'externalTrafficPolicy'
  | 'masquerade'
  | 'ruleOrder'
  | 'rules'
  | 'chainAdded'
  | 'chainRemoved';

export interface Change {
  kind: ChangeKind;
  text: string;
}

export interface ChainDiff {
  id: string;
  table: string;
  /** The chain's name on each side; null where a chain of its own has no rules. */
  oldName: string | null;
  newName: string | null;
  label?: string;
  status: 'added' | 'removed' | 'changed';
  /** A chain of its own (counted in chain statistics), not a slice of a shared chain. */
  owned: boolean;
  rulesAdded: number;
  rulesRemoved: number;
  hunks: Hunk[];
}

/** Counts, in the order every format prints them. */
export const STAT_KEYS = ['rulesAdded', 'rulesRemoved', 'chainsAdded', 'chainsRemoved', 'endpointsAdded', 'endpointsRemoved'] as const;
export type Stat = Record<(typeof STAT_KEYS)[number], number>;

export interface ServiceDiff {
  name: string;
  /** TCP/UDP/SCTP, "" when unknown. */
  protocol: string;
  status: 'added' | 'removed' | 'changed';
  changes: Change[];
  old: ServiceSummary | null;
  new: ServiceSummary | null;
  chains: ChainDiff[];
  stat: Stat;
}

export interface NodeWideDiff {
  changes: Change[];
  chains: ChainDiff[];
  stat: Stat;
}

export interface SideInfo {
  /** The path given (`-` for stdin). */
  source: string;
  input: 'iptables-rules' | 'nftables-rules' | 'manifests';
  backend: DiffSide['backend'];
  family: DiffSide['family'];
}

export interface DiffResult {
  old: SideInfo;
  new: SideInfo;
  /** No semantic difference at all. */
  identical: boolean;
  /** Only the service ports that differ, by name. */
  services: ServiceDiff[];
  nodeWide: NodeWideDiff;
  totals: Stat & { servicePorts: { compared: number; added: number; removed: number; changed: number; unchanged: number } };
  notes: { old: string[]; new: string[] };
  /** Set when the sides come from kube-proxy releases that shape rules differently. */
  releases?: { old: string; new: string; shapeOnlyServicePorts: number; shapeOnlyNodeWide: boolean };
}

export interface CompareOptions {
  /** Unchanged lines around each change in a hunk. */
  context: number;
  /**
   * Sides from different kube-proxy releases compare by meaning: a service port with the same
   * summary, and node-wide objects that only changed shape, count as unchanged (release.ts).
   */
  acrossReleases?: boolean;
}
