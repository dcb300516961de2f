// What apply, rollback and cleanup will run, assembled from the rules wanted and the node's
// current state. Pure: the commands and their payloads are data, so they can be printed,
// tested and reversed; execute.ts runs them.
import type { Chain, IptablesRuleset, Rule } from '../ir/iptables.js';
import { ruleComment, targetChain } from '../ir/iptables.js';
import { isOpaque } from '../parse/iptables.js';
import { kubeProxyJumpRules, type JumpRule } from '../kubeproxy/iptables-jumps.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_CANARY,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  SERVICE_CHAIN_PREFIXES,
} from '../kubeproxy/iptables-names.js';
import { chainBodies, chainIndex, chainOf, isBuiltin, ruleBody } from './node-rules.js';
import type { Family } from '../util/ip.js';
import { restoreTable, restoreText, type RestoreTable } from './restore.js';

export interface Step {
  /** Stable name, e.g. `nfacct:ct_state_invalid_dropped_pkts`, `iptables-restore:ipv4`. */
  id: string;
  /** One line for the user. */
  what: string;
  cmd: string;
  args: string[];
  input?: string;
  /**
   * How to take the step back: a command, or `iptables` / `nftables` for a rule load, which is
   * reversed from the backup and the state found after the failure (a restore that failed
   * half-way has still committed the tables before the one that failed).
   */
  undo?: Step | 'iptables' | 'nftables';
}

/** What ktables created on a node and nothing else had: cleanup removes exactly this. */
export interface Created {
  nfacct: string[];
  /** `table/chain` of chains that existed only because ktables made them (KUBE-FIREWALL). */
  chains: string[];
  /** sysctl key → the value it had before ktables set it. */
  sysctls: Record<string, string>;
  /**
   * `family/table` and `family/table/chain` of what iptables-nft brought into being in
   * nftables for this apply (see nftcompat.ts); cleanup deletes them again once empty.
   */
  iptablesNft: string[];
}

export const emptyCreated = (): Created => ({ nfacct: [], chains: [], sysctls: {}, iptablesNft: [] });

export const iptablesTool = (family: Family, what: 'save' | 'restore') => `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${what}`;
export const nftFamily = (family: Family) => (family === 'ipv4' ? 'ip' : 'ip6');
export const NFT_TABLE = 'kube-proxy';
export const ROUTE_LOCALNET = 'net.ipv4.conf.all.route_localnet';

/** The chains kube-proxy owns outright (its cleanup deletes them); service chains come on top. */
const OWNED_CHAINS: Record<string, string[]> = {
  nat: [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ, KUBE_PROXY_CANARY],
  filter: [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL, KUBE_PROXY_CANARY],
  mangle: [KUBE_PROXY_CANARY],
};

function ownedByKubeProxy(table: string, chain: string): boolean {
  if (OWNED_CHAINS[table]?.includes(chain)) return true;
  return table === 'nat' && SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

const key = (table: string, chain: string) => `${table}/${chain}`;

// ---------------------------------------------------------------------------------------------
// Jump rules

function jumpIdentity(r: Rule): string | undefined {
  const target = targetChain(r);
  if (!target) return undefined;
  let states = '';
  let others = 0;
  for (const m of r.matches) {
    if (m.kind === 'conntrack') states = `${m.negate ? '!' : ''}${[...m.states].sort().join(',')}`;
    else if (m.kind !== 'comment' && m.kind !== 'module') others++;
  }
  return `${target}|${ruleComment(r) ?? ''}|${states}|${others}`;
}

/**
 * Whether a built-in chain on the node already holds this jump (however iptables-save spells
 * it). A rule with a part the IR does not know is someone else's, never kube-proxy's jump.
 */
function hasJump(current: IptablesRuleset, j: JumpRule): boolean {
  const want = jumpIdentity(j.rule);
  return !!chainOf(current, j.table, j.chain)?.rules.some((r) => !isOpaque(r) && jumpIdentity(r) === want);
}

// ---------------------------------------------------------------------------------------------
// iptables apply

export interface IptablesPayload {
  /** The restore input as data (restore.ts prints it and computes its effect). */
  tables: RestoreTable[];
  text: string;
  /** `table/chain` of every chain the payload writes, creates, deletes or inserts into. */
  touched: Set<string>;
  /** Chains this apply creates that kube-proxy does not own outright (KUBE-FIREWALL). */
  createdChains: string[];
  insertedJumps: JumpRule[];
}

/**
 * kube-proxy's sync as one iptables-restore --noflush input: the restore payload, plus what
 * kube-proxy does before it with single commands: make sure every jump-target chain exists and
 * insert each missing jump rule at the top of its built-in chain, in its list order. One input
 * means one transaction per table, and re-applying inserts nothing twice.
 */
export function iptablesPayload(desired: IptablesRuleset, current: IptablesRuleset): IptablesPayload {
  const touched = new Set<string>();
  const createdChains: string[] = [];
  const onNode = chainIndex(current);
  const insertedJumps = kubeProxyJumpRules().filter((j) => !hasJump(current, j));
  const tableNames = [...new Set([...desired.tables.map((t) => t.name), ...insertedJumps.map((j) => j.table)])];

  const tables: RestoreTable[] = [];
  for (const name of tableNames) {
    const given = desired.tables.find((t) => t.name === name);
    const declared = new Set(given?.chains.map((c) => c.name));
    const extra: Chain[] = [];
    for (const j of kubeProxyJumpRules()) {
      const target = targetChain(j.rule)!;
      if (j.table !== name || declared.has(target) || onNode(name, target)) continue;
      declared.add(target);
      extra.push({ name: target, rules: [] });
    }
    const table: RestoreTable = {
      ...restoreTable(name),
      chains: [...(given?.chains ?? []), ...extra],
      removed: [...(given?.deleted ?? [])],
      inserts: insertedJumps.filter((j) => j.table === name).map((j) => ({ chain: j.chain, rule: j.rule })),
    };
    for (const c of table.chains) {
      touched.add(key(name, c.name));
      // Chains kube-proxy owns go in any cleanup; others (KUBE-FIREWALL, shared with kubelet)
      // only when this apply made them.
      if (!onNode(name, c.name) && !ownedByKubeProxy(name, c.name)) createdChains.push(key(name, c.name));
    }
    for (const c of table.removed) touched.add(key(name, c));
    for (const i of table.inserts) touched.add(key(name, i.chain));
    tables.push(table);
  }
  return { tables, text: restoreText(tables), touched, createdChains, insertedJumps };
}

/** nfacct counters the rules reference. */
function nfacctNames(rs: IptablesRuleset): string[] {
  const names = new Set<string>();
  for (const t of rs.tables)
    for (const c of t.chains) for (const r of c.rules) for (const m of r.matches) if (m.kind === 'nfacct') names.add(m.name);
  return [...names].sort();
}

export interface IptablesApplyInput {
  family: Family;
  desired: IptablesRuleset;
  current: IptablesRuleset;
  /** Counters that exist on the node; undefined when nfacct is not available. */
  nfacct: string[] | undefined;
  /** Current value of net.ipv4.conf.all.route_localnet when the rules need it on; else undefined. */
  routeLocalnet?: string;
}

export interface ApplyPlan {
  steps: Step[];
  /** Validation only (--dry-run): nothing on the node changes. */
  checks: Step[];
  touched: Set<string>;
  created: Created;
  /** The rules as they will be loaded. */
  payload: string;
  /** iptables: the payload as data. */
  restore?: RestoreTable[];
}

export function planIptablesApply(input: IptablesApplyInput): ApplyPlan {
  const { family } = input;
  const created = emptyCreated();
  const steps: Step[] = [];
  for (const name of nfacctNames(input.desired)) {
    if (input.nfacct?.includes(name)) continue;
    created.nfacct.push(name);
    steps.push({
      id: `nfacct:${name}`,
      what: `create the nfacct counter ${name}`,
      cmd: 'nfacct',
      args: ['add', name],
      undo: { id: `nfacct-del:${name}`, what: `delete the nfacct counter ${name}`, cmd: 'nfacct', args: ['del', name] },
    });
  }
  // kube-proxy turns route_localnet on for localhost NodePorts: without it the kernel drops them.
  if (input.routeLocalnet !== undefined && input.routeLocalnet !== '1') {
    created.sysctls[ROUTE_LOCALNET] = input.routeLocalnet;
    steps.push({
      id: `sysctl:${ROUTE_LOCALNET}`,
      what: `set ${ROUTE_LOCALNET}=1 (localhost NodePorts)`,
      cmd: 'sysctl',
      args: ['-q', '-w', `${ROUTE_LOCALNET}=1`],
      undo: {
        id: `sysctl-undo:${ROUTE_LOCALNET}`,
        what: `set ${ROUTE_LOCALNET} back to ${input.routeLocalnet}`,
        cmd: 'sysctl',
        args: ['-q', '-w', `${ROUTE_LOCALNET}=${input.routeLocalnet}`],
      },
    });
  }
  const p = iptablesPayload(input.desired, input.current);
  created.chains.push(...p.createdChains);
  const restore = iptablesTool(family, 'restore');
  steps.push({
    id: `${restore}`,
    what: `load the rules (${p.insertedJumps.length} jump rule${p.insertedJumps.length === 1 ? '' : 's'} to insert)`,
    cmd: restore,
    args: ['--noflush', '--wait'],
    input: p.text,
    undo: 'iptables',
  });
  const checks: Step[] = [
    { id: `${restore}-test`, what: 'check the rules parse', cmd: restore, args: ['--test', '--noflush', '--wait'], input: p.text },
  ];
  return { steps, checks, touched: p.touched, created, payload: p.text, restore: p.tables };
}

/**
 * The restore input that puts every chain apply touched back the way the backup has it, and
 * leaves every other chain alone. Chains are compared rule by rule as iptables-save printed
 * them on both sides, so an unchanged chain is not rewritten. undefined: nothing to do.
 */
export function iptablesRollbackPayload(
  backup: IptablesRuleset,
  now: IptablesRuleset,
  touched: Set<string>,
): { tables: RestoreTable[]; text: string | undefined; problems: string[] } {
  const problems: string[] = [];
  const byTable = new Map<string, string[]>();
  for (const k of touched) {
    const slash = k.indexOf('/');
    const t = k.slice(0, slash);
    byTable.set(t, [...(byTable.get(t) ?? []), k.slice(slash + 1)]);
  }
  const tables: RestoreTable[] = [];
  const inBackup = chainIndex(backup);
  const inNow = chainIndex(now);
  for (const [name, chains] of [...byTable].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const table = restoreTable(name);
    for (const chain of [...chains].sort()) {
      const b = inBackup(name, chain);
      const n = inNow(name, chain);
      if (isBuiltin(name, chain)) {
        const extra = multisetMinus(n?.rules ?? [], chainBodies(b), (r) => ruleBody(chain, r));
        const missing = multisetMinus(b?.rules ?? [], chainBodies(n), (r) => ruleBody(chain, r));
        for (const rule of extra) table.deletes.push({ chain, rule });
        if (missing.length > 0) problems.push(`${name} ${chain} lost ${missing.length} rule(s) that apply did not remove`);
        continue;
      }
      if (b && n && sameLines(chainBodies(b), chainBodies(n))) continue;
      if (!b && !n) continue;
      if (b) table.chains.push({ name: chain, rules: b.rules });
      else {
        table.chains.push({ name: chain, rules: [] });
        table.removed.push(chain);
      }
    }
    if (table.chains.length + table.deletes.length > 0) tables.push(table);
  }
  return { tables, text: tables.length > 0 ? restoreText(tables) : undefined, problems };
}

/**
 * What `ktables cleanup` removes from one family's iptables: kube-proxy's chains (and the
 * chains ktables itself created), and every rule in a built-in chain that jumps into one of
 * them. A chain that some other chain still jumps to cannot be deleted: that is reported, and
 * the other chain is not touched.
 */
export function iptablesCleanupPayload(
  now: IptablesRuleset,
  created: Created,
): { tables: RestoreTable[]; text: string | undefined; problems: string[]; removed: string[] } {
  const problems: string[] = [];
  const removed: string[] = [];
  const tables: RestoreTable[] = [];
  for (const t of [...now.tables].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const gone = new Set(
      t.chains
        .map((c) => c.name)
        .filter((c) => !isBuiltin(t.name, c) && (ownedByKubeProxy(t.name, c) || created.chains.includes(key(t.name, c)))),
    );
    if (gone.size === 0) continue;
    const table = restoreTable(t.name);
    for (const chain of t.chains) {
      if (gone.has(chain.name)) continue;
      for (const rule of chain.rules) {
        const target = targetChain(rule);
        if (!target || !gone.has(target)) continue;
        if (isBuiltin(t.name, chain.name)) table.deletes.push({ chain: chain.name, rule });
        else problems.push(`${t.name} ${chain.name} jumps to ${target}, which is not kube-proxy's chain: left in place`);
      }
    }
    const names = [...gone].sort();
    removed.push(...names.map((c) => key(t.name, c)));
    table.chains = names.map((name) => ({ name, rules: [] }));
    table.removed = names;
    tables.push(table);
  }
  return { tables, text: tables.length > 0 ? restoreText(tables) : undefined, problems, removed };
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}

/** The items of A whose key is not in B (as many times as B has it fewer). */
function multisetMinus<T>(a: T[], b: string[], keyOf: (x: T) => string): T[] {
  const left = new Map<string, number>();
  for (const l of b) left.set(l, (left.get(l) ?? 0) + 1);
  const out: T[] = [];
  for (const x of a) {
    const k = keyOf(x);
    const n = left.get(k) ?? 0;
    if (n > 0) left.set(k, n - 1);
    else out.push(x);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// nftables

/**
 * One `nft -f` transaction that replaces the kube-proxy table: `add` makes the `delete` safe
 * when the table is not there yet (nft 1.0.6 has no `destroy`), then the new table is loaded.
 */
export function nftReplaceInput(family: Family, payload: string | undefined): string {
  const t = `${nftFamily(family)} ${NFT_TABLE}`;
  return `add table ${t}\ndelete table ${t}\n${payload ?? ''}`;
}

export interface NftApplyInput {
  family: Family;
  payload: string;
}

export function planNftApply(input: NftApplyInput): ApplyPlan {
  const text = nftReplaceInput(input.family, input.payload);
  return {
    steps: [
      {
        id: 'nft',
        what: `replace table ${nftFamily(input.family)} ${NFT_TABLE}`,
        cmd: 'nft',
        args: ['-f', '-'],
        input: text,
        undo: 'nftables',
      },
    ],
    checks: [{ id: 'nft-check', what: 'check the rules with nft -c', cmd: 'nft', args: ['-c', '-f', '-'], input: text }],
    touched: new Set([`${nftFamily(input.family)}/${NFT_TABLE}`]),
    created: emptyCreated(),
    payload: input.payload,
  };
}
