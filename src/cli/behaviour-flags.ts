// The --behaviour flags of `ktables diff`: --behaviour itself and, for every compile flag X,
// --old-X / --new-X setting it on one side only. Read from the compile flag definitions, so a
// new compile flag gets its side flags with no edit here. Loaded with the command specs.
import type { Argv } from 'yargs';
import { COMPILE_FLAGS } from './flag-defs.js';

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
  return Object.entries(COMPILE_FLAGS).map(([name, def]) => ({
    name,
    type: def.type,
    ...(def.choices ? { choices: [...def.choices] } : {}),
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
