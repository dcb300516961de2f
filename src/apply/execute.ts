// Running a plan against a node: back up what is there, change it step by step, and if any
// step fails put everything back and check that it is back. Used by `ktables apply` and by
// verify's lab (apply --netns).
import { KtablesError, SystemError } from '../errors.js';
import type { IptablesRuleset } from '../ir/iptables.js';
import type { NftRuleset } from '../ir/nftables.js';
import { ruleComment } from '../ir/iptables.js';
import {
  iptablesRollbackPayload,
  iptablesTool,
  nftReplaceInput,
  planIptablesApply,
  planNftApply,
  ROUTE_LOCALNET,
  type ApplyPlan,
  type Step,
} from './plan.js';
import { KUBE_FIREWALL } from '../kubeproxy/iptables-names.js';
import type { Family } from '../util/ip.js';
import { sameRules } from './node-rules.js';
import { afterRestore } from './restore.js';
import {
  addToRecord,
  readIptables,
  readNfacct,
  readNftTable,
  readSysctl,
  requireNetns,
  targetName,
  writeBackup,
  type Target,
} from './state.js';
import { requireRoot, type System } from './system.js';
import { dropCreatedNftObjects, iptablesNftObjects, newObjects } from './nftcompat.js';

/** The iptables rules to apply, built once the node's state is known. */
interface IptablesSource {
  backend: 'iptables';
  family: Family;
  /**
   * previousNatChains: the node's nat chains (kube-proxy deletes stale service chains);
   * nfacct: whether the node has nfacct (without it kube-proxy leaves the counter matches out).
   */
  build(node: { previousNatChains: string[]; nfacct: boolean }): { ruleset: IptablesRuleset; notes: string[] };
}

export interface NftSource {
  backend: 'nftables';
  family: Family;
  payload: string;
  /** The payload as IR, when it was compiled (verify traces it). */
  ruleset?: NftRuleset;
}

export type RulesSource = IptablesSource | NftSource;

export interface ApplyOptions {
  dryRun?: boolean;
  /** Progress and notes for the user (stderr in the CLI). */
  say?: (line: string) => void;
  /** What a dry run prints: the change from the node's rules to the new ones. */
  describeChange?: (change: PlannedChange) => string;
}

export type PlannedChange =
  | { backend: 'iptables'; family: Family; current: IptablesRuleset; after: IptablesRuleset; plan: ApplyPlan }
  | { backend: 'nftables'; family: Family; current: string | undefined; desired?: NftRuleset; plan: ApplyPlan };

export interface ApplyResult {
  plan: ApplyPlan;
  /** iptables: the rule set that was (or would be) loaded, as built for this node. */
  ruleset?: IptablesRuleset;
  notes: string[];
  /** Where the previous state was saved (not for --dry-run). */
  backup?: string;
  /** --dry-run: the change that would be made. */
  change?: string;
}

function toolsFor(backend: 'iptables' | 'nftables', family: Family, t: Target): string[] {
  const tools = backend === 'iptables' ? [iptablesTool(family, 'save'), iptablesTool(family, 'restore')] : ['nft'];
  if (t.netns) tools.push('ip');
  return tools;
}

export function preflight(sys: System, what: string, tools: string[], t: Target): void {
  requireRoot(what);
  sys.requireTools(tools);
  requireNetns(t, (name) => sys.host.fs.existsSync(`/run/netns/${name}`));
}

/** localhost NodePorts are on when kube-proxy wrote its martian guard for them. */
function wantsRouteLocalnet(rs: IptablesRuleset): boolean {
  if (rs.family !== 'ipv4') return false;
  const fw = rs.tables.find((t) => t.name === 'filter')?.chains.find((c) => c.name === KUBE_FIREWALL);
  return !!fw?.rules.some((r) => ruleComment(r) === 'block incoming localnet connections');
}

export async function applyRules(sys: System, t: Target, source: RulesSource, o: ApplyOptions = {}): Promise<ApplyResult> {
  preflight(sys, 'apply', toolsFor(source.backend, source.family, t), t);
  return source.backend === 'iptables' ? applyIptables(sys, t, source, o) : applyNft(sys, t, source, o);
}

async function applyIptables(sys: System, t: Target, source: IptablesSource, o: ApplyOptions): Promise<ApplyResult> {
  const { family } = source;
  const before = await readIptables(sys, t, family);
  const nfacct = await readNfacct(sys, t);
  const notes: string[] = [];
  if (nfacct === undefined)
    notes.push(
      `nfacct is not available on ${targetName(t)}: the rules are compiled without the nfacct counter matches, as kube-proxy does`,
    );
  const previousNatChains = before.rules.tables.find((x) => x.name === 'nat')?.chains.map((c) => c.name) ?? [];
  const built = source.build({ previousNatChains, nfacct: nfacct !== undefined });
  notes.push(...built.notes);
  const needLocalnet = wantsRouteLocalnet(built.ruleset);
  if (needLocalnet) sys.requireTools(['sysctl']);
  const plan = planIptablesApply({
    family,
    desired: built.ruleset,
    current: before.rules,
    nfacct,
    routeLocalnet: needLocalnet ? await readSysctl(sys, t, ROUTE_LOCALNET) : undefined,
  });
  if (plan.steps.some((s) => s.cmd === 'nfacct')) sys.requireTools(['nfacct']);

  if (o.dryRun) {
    for (const c of plan.checks) await sys.run(c.cmd, c.args, { netns: t.netns, input: c.input });
    const after = afterRestore(before.rules, plan.restore ?? []);
    const change = o.describeChange?.({ backend: 'iptables', family, current: before.rules, after, plan });
    return { plan, notes, change, ruleset: built.ruleset };
  }

  const backup = writeBackup(sys.host, t, `${family}.iptables-save`, before.text);
  const nftBefore = await iptablesNftObjects(sys, t, family);
  await runSteps(sys, t, plan, {
    iptables: async () => {
      const now = await readIptables(sys, t, family);
      const rb = iptablesRollbackPayload(before.rules, now.rules, plan.touched);
      if (rb.text) await sys.run(iptablesTool(family, 'restore'), ['--noflush', '--wait'], { netns: t.netns, input: rb.text });
      await dropCreatedNftObjects(sys, t, family, newObjects(nftBefore, await iptablesNftObjects(sys, t, family)));
      return rb.problems;
    },
    check: async () => {
      const after = await readIptables(sys, t, family);
      if (!sameRules(after.rules, before.rules)) return `${iptablesTool(family, 'save')} differs from the backup in ${backup}`;
      const left = newObjects(nftBefore, await iptablesNftObjects(sys, t, family));
      return left.length === 0 ? undefined : `left in nftables: ${left.join(', ')}`;
    },
    say: o.say,
  });
  plan.created.iptablesNft = newObjects(nftBefore, await iptablesNftObjects(sys, t, family)).map((x) => `${family}/${x}`);
  addToRecord(sys.host, t, plan.created);
  return { plan, notes, backup, ruleset: built.ruleset };
}

async function applyNft(sys: System, t: Target, source: NftSource, o: ApplyOptions): Promise<ApplyResult> {
  const { family } = source;
  const before = await readNftTable(sys, t, family);
  const plan = planNftApply({ family, payload: source.payload });
  if (o.dryRun) {
    for (const c of plan.checks) await sys.run(c.cmd, c.args, { netns: t.netns, input: c.input });
    const change = o.describeChange?.({
      backend: 'nftables',
      family,
      current: before,
      ...(source.ruleset ? { desired: source.ruleset } : {}),
      plan,
    });
    return { plan, notes: [], change };
  }
  const backup = writeBackup(sys.host, t, `${family}.nft`, before ?? '');
  await runSteps(sys, t, plan, {
    nftables: async () => {
      await sys.run('nft', ['-f', '-'], { netns: t.netns, input: nftReplaceInput(family, before) });
      return [];
    },
    check: async () => {
      const after = await readNftTable(sys, t, family);
      return after === before ? undefined : `the kube-proxy table differs from the backup in ${backup}`;
    },
    say: o.say,
  });
  return { plan, notes: [], backup };
}

interface Undo {
  iptables?: () => Promise<string[]>;
  nftables?: () => Promise<string[]>;
  /** After a rollback: undefined when the node is as it was, else what differs. */
  check: () => Promise<string | undefined>;
  say?: ((line: string) => void) | undefined;
}

/**
 * Runs the steps in order. When one fails, every step already started (the failed one too: a
 * restore commits table by table) is taken back in reverse order, then the node is compared
 * with the backup. The error says what failed, with its stderr, and whether the node is back.
 */
async function runSteps(sys: System, t: Target, plan: ApplyPlan, undo: Undo): Promise<void> {
  const started: Step[] = [];
  for (const step of plan.steps) {
    started.push(step);
    try {
      undo.say?.(step.what);
      await sys.run(step.cmd, step.args, { netns: t.netns, input: step.input });
    } catch (err) {
      const failure = err instanceof KtablesError ? err.message : String(err);
      const problems: string[] = [];
      for (const s of [...started].reverse()) {
        try {
          if (s.undo === 'iptables') problems.push(...((await undo.iptables?.()) ?? []));
          else if (s.undo === 'nftables') problems.push(...((await undo.nftables?.()) ?? []));
          else if (s.undo) await sys.run(s.undo.cmd, s.undo.args, { netns: t.netns, input: s.undo.input });
        } catch (e) {
          problems.push(`undoing "${s.what}": ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      try {
        const diff = await undo.check();
        if (diff) problems.push(diff);
      } catch (e) {
        problems.push(`checking the rollback: ${e instanceof Error ? e.message : String(e)}`);
      }
      const outcome =
        problems.length === 0
          ? `rolled back: ${targetName(t)} is as it was before`
          : `rollback INCOMPLETE:\n${problems.map((p) => `  ${p}`).join('\n')}`;
      throw new SystemError(`apply failed at step "${step.what}": ${failure}\n${outcome}`);
    }
  }
}
