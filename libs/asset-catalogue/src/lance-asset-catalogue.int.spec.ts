// Real parts: the embedded engine (LanceDB in a temp data folder); no mocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LanceAssetCatalogue } from './lance-asset-catalogue.js';
import { assetCatalogueContract } from './test/asset-catalogue.contract.js';

assetCatalogueContract('embedded engine (LanceDB)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalogue-'));
  const catalogue = await LanceAssetCatalogue.open({ dataDir: dir });
  return {
    catalogue,
    dispose: async () => {
      await catalogue.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('embedded catalogue: compaction', () => {
  it('compacts the fragments of many small writes once the writes stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catalogue-'));
    const catalogue = await LanceAssetCatalogue.open({ dataDir: dir, settleAfterMs: 50 });
    try {
      const entry = (i: number) => ({
        assetId: i.toString(16).padStart(32, '0'),
        path: `/photos/${i}.jpg`,
        contentHash: `sha256:${i.toString(16).padStart(64, '0')}`,
      });
      for (let b = 0; b < 30; b++) await catalogue.upsert([entry(2 * b), entry(2 * b + 1)]);
      await catalogue.remove([entry(7).assetId]);
      await catalogue.settled();
      expect(await catalogue.storageStats()).toEqual({ fragments: 1, rows: 59 });
      expect((await catalogue.get([entry(8).assetId, entry(7).assetId])).map((e) => e.path)).toEqual(['/photos/8.jpg']);
    } finally {
      await catalogue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
