// Real parts: the embedded engine (LanceDB) in a temp data folder; no mocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { LanceVectorStore } from './lance-vector-store.js';
import { makePoints, testSchema } from './test/contract-data.js';

const dir = mkdtempSync(join(tmpdir(), 'vs-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));

describe("embedded engine: the engine's caches are visible", () => {
  it('reports the bytes its index and metadata caches hold once tables were read', async () => {
    const store = await LanceVectorStore.open({
      dataDir: dir,
      logger: createLogger('vector-store-test', 'warn'),
      cacheBytes: { index: 64 * 2 ** 20, metadata: 16 * 2 ** 20 },
    });
    try {
      const schema = testSchema('cache');
      await store.ensureCollection(schema);
      const points = makePoints(50);
      await store.upsert(schema.name, points);
      await store.retrieve(schema.name, [points[0]!.assetId]);
      expect(store.cacheBytes()).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
