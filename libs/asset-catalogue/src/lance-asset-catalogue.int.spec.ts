// Real parts: the embedded engine (LanceDB in a temp data folder); no mocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
