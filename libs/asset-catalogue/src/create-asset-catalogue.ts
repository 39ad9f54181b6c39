import type { AssetCatalogue } from './asset-catalogue.port.js';
import { LanceAssetCatalogue } from './lance-asset-catalogue.js';
import { PgAssetCatalogue } from './pg-asset-catalogue.js';

/** PostgreSQL when `CATALOGUE_URL` is set, else the embedded engine under DATA_DIR. */
export function createAssetCatalogue(opts: {
  url?: string | undefined;
  schema?: string | undefined;
  dataDir: string;
}): Promise<AssetCatalogue> {
  return opts.url
    ? PgAssetCatalogue.open({ url: opts.url, ...(opts.schema ? { schema: opts.schema } : {}) })
    : LanceAssetCatalogue.open({ dataDir: opts.dataDir });
}
