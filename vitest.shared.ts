import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Where `npm test` collects each project's JSON results for its one-line total (unset: not collected). */
const resultsDir = process.env['TEST_RESULTS_DIR'];

/** Shared vitest settings; each project's vitest.config.ts spreads these. */
export function projectTestConfig(name: string) {
  return defineConfig({
    test: {
      name,
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      environment: 'node',
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
      reporters: resultsDir ? ['default', ['json', { outputFile: join(resultsDir, `${name}.json`) }]] : ['default'],
    },
  });
}
