import { resolve } from 'node:path';

/** Test-environment settings; the only place tests read process.env. */
export const testEnv = {
  redisUrl: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  /** Reference fixtures (real tokenizers, reference models, photos, golden outputs); may be absent. */
  fixturesDir: resolve(process.env['FIXTURES_DIR'] ?? resolve(import.meta.dirname, '../../../../shared/fixtures')),
  qdrantUrl: process.env['QDRANT_URL'] || undefined,
  qdrantApiKey: process.env['QDRANT_API_KEY'] || undefined,
  chromiumPath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
  /** PostgreSQL for the asset catalogue's tests (each test uses its own schema and drops it). */
  databaseUrl: process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
  isCi: process.env['CI'] === 'true',
};
