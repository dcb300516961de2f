// The --behaviour flags of `ktables diff`: --behaviour itself and, for every compile flag X,
// --old-X / --new-X setting it on one side only. Read from the compile flag definitions, so a
// new compile flag gets its side flags with no edit here. Loaded with the command specs.
import yargs, { type Argv } from 'yargs';
import { withCompileFlags } from './flag-defs.js';

export const SIDES = ['old', 'new'] as const;
export type Side = (typeof SIDES)[number];
const GROUP = 'Behaviour diff (--behaviour): one side only, --old-X / --new-X for any compile flag X:';
/** Shown in --help; the other --old-X / --new-X work the same, hidden to keep help short. */
const LISTED = new Set(['proxy-mode', 'kube-proxy-version', 'config']);
/** The release flag, reported per side. */
export const VERSION_FLAG = 'kube-proxy-version';

export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean' | 'number';
  choices?: string[];
}

/** The compile flags, read from the compile flag definitions themselves (so new ones come along). */
export function compileFlagSpecs(): FlagSpec[] {
  const o = (withCompileFlags(yargs([])) as unknown as { getOptions(): unknown }).getOptions() as {
    key: Record<string, unknown>;
    boolean: string[];
    number: string[];
    choices: Record<string, string[]>;
  };
  return Object.keys(o.key)
    .filter((k) => k !== 'help' && k !== 'version')
    .map((name) => ({
      name,
      type: o.boolean.includes(name) ? 'boolean' : o.number.includes(name) ? 'number' : 'string',
      ...(o.choices[name] ? { choices: o.choices[name] } : {}),
    }));
}

export function withBehaviourFlags<T>(y: Argv<T>): Argv<T> {
  const specs = compileFlagSpecs();
  let out = y.option('behaviour', {
    type: 'boolean',
    describe: 'Compare what happens to packets (every entry point, every client) instead of rules',
  });
  for (const s of specs) {
    for (const side of SIDES) {
      out = out.option(`${side}-${s.name}`, {
        type: s.type,
        group: GROUP,
        hidden: !LISTED.has(s.name),
        describe: `--${s.name} for the ${side} side only`,
        ...(s.choices ? { choices: s.choices } : {}),
      });
    }
  }
  return out;
}
