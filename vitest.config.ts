import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Vitest's default is one worker fewer than the CPUs: a single worker on a 2-core machine,
    // which runs the files one after another. The kernel tests spend much of their time waiting
    // on namespaces and packets, so two workers keep both cores busy (measured on 2 cores:
    // 208 s with one worker, 162 s with two, 173 s with three).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
