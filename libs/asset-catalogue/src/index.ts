/** The asset catalogue port (which assets exist: ids, paths, content hashes). */
export type { AssetCatalogue, CatalogueEntry, CatalogueWrite, CataloguePage } from './asset-catalogue.port.js';
/** PostgreSQL (CATALOGUE_URL) or the embedded engine under DATA_DIR. */
export { createAssetCatalogue } from './create-asset-catalogue.js';
/** The production catalogue in PostgreSQL. */
export { PgAssetCatalogue, type PgAssetCatalogueOptions } from './pg-asset-catalogue.js';
/** The one-machine catalogue in the embedded engine. */
export { LanceAssetCatalogue } from './lance-asset-catalogue.js';
/** sha256 of a file's bytes, as the catalogue and vector payloads record it. */
export { contentHash } from './content-hash.js';
/** A model's collection compared with the catalogue: missing, extra, stale and wrong-fingerprint vectors. */
export {
  verifyAgainstCatalogue,
  CONTENT_HASH_KEY,
  type CatalogueVerification,
  type IdSample,
} from './catalogue-verify.js';
/** Which models serve (the rollout pair) and which were retired, recorded in the catalogue's store. */
export {
  modelStateConflict,
  type ModelState,
  type ModelStateWrite,
  type ModelStateStore,
  type RetiredModel,
} from './model-state.js';
/** Records a migration's pair as the serving pair (the checks `tools:reembed start` and the admin API share). */
export { recordMigration } from './migration-record.js';
