import type { CollectionSchema } from '@image-search/collection-schema';

/** Payload stored with each point. `asset_id` is always present (the original id). */
export interface AssetPayload {
  asset_id: string;
  path?: string;
  path_hash?: string;
  category?: string;
  /** ISO 8601 date-time. */
  date_taken?: string;
  width?: number;
  height?: number;
  created_at?: string;
  [key: string]: unknown;
}

/** One point to upsert: the asset id (mapped deterministically to a point id), its vector and payload. */
export interface UpsertPoint {
  assetId: string;
  vector: Float32Array | number[];
  payload: Omit<AssetPayload, 'asset_id'> & { asset_id?: string };
}

/**
 * Payload filter (a small, engine-neutral subset of Qdrant's): every condition in `must` holds,
 * none in `must_not`. `match` is an exact value or one of several; `range` bounds numbers or ISO dates.
 */
export interface PayloadFilter {
  must?: FilterCondition[];
  must_not?: FilterCondition[];
}
export type FilterCondition =
  | { key: string; match: { value: string | number | boolean } }
  | { key: string; match: { any: (string | number)[] } }
  | {
      key: string;
      range: { gt?: number | string; gte?: number | string; lt?: number | string; lte?: number | string };
    };

export interface SearchParams {
  vector: Float32Array | number[];
  limit: number;
  offset?: number;
  filter?: PayloadFilter;
  minScore?: number;
  /** Index search breadth (HNSW ef / nprobes); engine default when unset. */
  ef?: number;
  /** Exact (brute-force in the engine) search instead of the index. */
  exact?: boolean;
}

export interface SearchHit {
  assetId: string;
  /** Cosine similarity, higher is closer. */
  score: number;
  payload: AssetPayload;
}

export interface StoredPoint {
  assetId: string;
  payload: AssetPayload;
  vector?: Float32Array;
}

export interface CollectionInfo {
  name: string;
  status: 'green' | 'yellow' | 'red' | 'grey';
  pointCount: number;
  vectorSize: number;
  distance: string;
  quantization: { type: string; quantile?: number; alwaysRam?: boolean } | null;
  hnsw: { m: number; efConstruct: number } | null;
  /** Where the data lives: the Qdrant URL or the data folder. */
  location: string;
  indexed: boolean;
}

export interface ScrollPage {
  assetIds: string[];
  /** The page's points (payloads, no vectors), in page order, when asked for with `withPayload`. */
  points?: StoredPoint[];
  /** Pass back to get the next page; undefined when done. */
  next: string | undefined;
}

export interface IdSetDifference {
  /** Ids in `a` but not in `b` (first `sampleLimit`, all when the limit is unset). */
  missing: string[];
  missingCount: number;
  /** Ids in `b` but not in `a`. */
  extra: string[];
  extraCount: number;
}

/** The vector store port: the Qdrant adapter and the embedded engine both implement it, identically. */
export interface VectorStore {
  /** Creates the collection when missing, verifies it when present (SCHEMA_MISMATCH naming each difference). */
  ensureCollection(schema: CollectionSchema): Promise<{ created: boolean; info: CollectionInfo }>;
  /** Collection status, point count and configuration; NOT_FOUND when missing. */
  info(collection: string): Promise<CollectionInfo>;
  /** Whether the collection exists. */
  exists(collection: string): Promise<boolean>;
  /** Idempotent by asset id. Validates every point first: one bad point rejects the batch and stores nothing. */
  upsert(collection: string, points: UpsertPoint[]): Promise<void>;
  search(collection: string, params: SearchParams): Promise<SearchHit[]>;
  retrieve(collection: string, assetIds: string[], opts?: { withVectors?: boolean }): Promise<StoredPoint[]>;
  scrollIds(
    collection: string,
    opts: { limit: number; cursor?: string; filter?: PayloadFilter; withPayload?: boolean },
  ): Promise<ScrollPage>;
  count(collection: string, opts?: { filter?: PayloadFilter }): Promise<number>;
  deleteIds(collection: string, assetIds: string[]): Promise<void>;
  deleteByFilter(collection: string, filter: PayloadFilter): Promise<void>;
  /** Ids one collection has and the other lacks (re-embedding completeness). */
  diffIds(a: string, b: string, opts?: { sampleLimit?: number }): Promise<IdSetDifference>;
  /** Drops the collection (tests and tools only). */
  dropCollection(collection: string): Promise<void>;
  close(): Promise<void>;
}
