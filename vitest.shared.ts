import { defineConfig } from 'vitest/config';

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
      reporters: ['default'],
    },
  });
}
