// Layer rules of ktables' one-way pipeline (README "Project layout"), checked in CI.
// input -> model -> backends -> emit/parse -> trace/diff/apply/verify -> app -> cli; util, ir, errors and
// kubeproxy (kube-proxy's vocabulary) are shared below all of them. No cycles, type imports included.
/** A stage may not import from these (later) stages. */
const later = {
  util: [
    'input',
    'model',
    'ir',
    'kubeproxy',
    'backends',
    'emit',
    'parse',
    'trace',
    'diff',
    'apply',
    'verify',
    'app',
    'cli',
    'behaviour',
    'graph',
  ],
  input: ['model', 'backends', 'emit', 'parse', 'trace', 'diff', 'apply', 'verify', 'app', 'cli', 'behaviour', 'graph'],
  model: ['backends', 'emit', 'parse', 'trace', 'diff', 'apply', 'verify', 'app', 'cli', 'behaviour', 'graph'],
  ir: ['input', 'model', 'backends', 'emit', 'parse', 'trace', 'diff', 'apply', 'verify', 'app', 'cli', 'behaviour', 'graph'],
  kubeproxy: ['input', 'model', 'backends', 'emit', 'parse', 'trace', 'diff', 'apply', 'verify', 'app', 'cli', 'behaviour', 'graph'],
  backends: ['emit', 'parse', 'trace', 'diff', 'apply', 'verify', 'app', 'cli', 'behaviour', 'graph'],
  emit: ['input', 'model', 'backends', 'parse', 'trace', 'diff', 'apply', 'verify', 'app', 'cli', 'behaviour', 'graph'],
  parse: ['input', 'model', 'backends', 'emit', 'trace', 'diff', 'apply', 'verify', 'app', 'cli', 'behaviour', 'graph'],
  trace: ['diff', 'apply', 'verify', 'app', 'cli', 'behaviour', 'graph'],
  diff: ['apply', 'verify', 'app', 'cli', 'graph'],
  apply: ['verify', 'app', 'cli', 'behaviour', 'graph'],
  verify: ['app', 'cli', 'behaviour', 'graph'],
  behaviour: ['apply', 'verify', 'app', 'cli', 'graph'],
  // graph draws the probes the behaviour diff sends (src/behaviour/entries.ts).
  graph: ['apply', 'verify', 'app', 'cli'],
  // The application layer wires the stages and tools for the commands: only cli uses it.
  app: ['cli'],
};

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules form a tree of stages; a cycle (type imports included) ties two of them together.',
      from: {},
      to: { circular: true },
    },
    ...Object.entries(later).map(([stage, banned]) => ({
      name: `layer-${stage}`,
      severity: 'error',
      comment: `src/${stage} may not import from a later stage (${banned.join(', ')}).`,
      from: { path: `^src/${stage}/` },
      to: { path: `^src/(${banned.join('|')})/` },
    })),
    {
      name: 'only-cli-uses-app',
      severity: 'error',
      comment: 'src/app wires the stages for the commands: nothing but src/cli may import it.',
      from: { path: '^src/', pathNot: '^src/(cli|app)/' },
      to: { path: '^src/app/' },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A source file nothing imports is dead code.',
      from: { orphan: true, path: '^src/', pathNot: ['^src/cli/main\\.ts$', '\\.d\\.ts$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
