export type * from './vector-store.port.js';
/** Opens Qdrant (QDRANT_URL set) or the embedded engine (DATA_DIR); where the data lives. */
export { createVectorStore, storeLocation, type VectorStoreConfig } from './create-vector-store.js';
/** The embedded engine (LanceDB, one table per collection in a data folder). */
export { LanceVectorStore, DEFAULT_EF, DEFAULT_NPROBES, type LanceVectorStoreOptions } from './lance-vector-store.js';
/** When the embedded engine builds and refreshes its HNSW index. */
export { DEFAULT_POLICY, type MaintenancePolicy, type MaintenanceResult } from './lance-maintenance.js';
/** The Qdrant adapter (REST, retries on transient failures). */
export { QdrantVectorStore, type QdrantVectorStoreOptions } from './qdrant-vector-store.js';
/** Retry schedule and transient-error test for Qdrant calls. */
export { DEFAULT_RETRY, isTransient, withRetry, type RetryPolicy } from './qdrant-retry.js';
/** Start-up check: model dimension vs schema vs live collection. */
export { verifyCollection } from './verify-collection.js';
/** Deterministic asset id -> point id (UUID) mapping. */
export { pointIdFor } from './point-id.js';
/** Payload fields a filter may name, and filter validation. */
export { FILTERABLE_FIELDS, checkFilter, type FieldKind } from './payload-filter.js';
/** Vector checks shared by both adapters (length, finite, non-zero) and batch limits. */
export { normalizedVector, MAX_UPSERT_BATCH, MAX_SEARCH_WINDOW } from './validation.js';
/** Model tags on stored vectors (model_id, fingerprint) and the guard that refuses to mix models in a collection. */
export {
  FingerprintGuard,
  sampleCollectionTags,
  MODEL_ID_KEY,
  FINGERPRINT_KEY,
  type VectorWriter,
  type CollectionTags,
} from './fingerprint-guard.js';
/** The `next` cursor of a paged scan over a LanceDB table version (shared with the embedded catalogue). */
export { formatSnapshotCursor, parseSnapshotCursor, type SnapshotCursor } from './snapshot-cursor.js';
