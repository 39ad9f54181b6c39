// Real parts: the PostgreSQL server at TEST_DATABASE_URL (default 127.0.0.1:5432, database test), one
// schema per run, dropped afterwards. Outside CI a missing server skips with one line; under CI=true it fails.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testEnv } from '@image-search/testing';
import { PgAssetCatalogue } from './pg-asset-catalogue.js';
import { assetCatalogueContract } from './test/asset-catalogue.contract.js';

async function reachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const up = await reachable(testEnv.databaseUrl);
if (!up && testEnv.isCi)
  throw new Error(
    `PostgreSQL is required under CI=true: none answers at ${testEnv.databaseUrl} (set TEST_DATABASE_URL, or apt-get install postgresql)`,
  );
if (!up) console.log(`[pg catalogue] SKIPPED: no PostgreSQL at ${testEnv.databaseUrl} (set TEST_DATABASE_URL)`);

const schemaName = () => `test_catalogue_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

describe.runIf(up)('PostgreSQL catalogue', () => {
  assetCatalogueContract('PostgreSQL', async () => {
    const catalogue = await PgAssetCatalogue.open({ url: testEnv.databaseUrl, schema: schemaName() });
    return {
      catalogue,
      dispose: async () => {
        await catalogue.dropSchema();
        await catalogue.close();
      },
    };
  });

  it('names an unreachable server without its password', async () => {
    const err = await PgAssetCatalogue.open({ url: 'postgres://u:hunter2@127.0.0.1:1/x' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/asset catalogue at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
    expect(err?.message).not.toContain('hunter2');
  });
});
