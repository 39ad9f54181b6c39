/** One asset the installation holds: the source of truth for which assets exist, whatever any model's collection says. */
export interface CatalogueEntry {
  /** 32 hex digits (sha256 of the real path, truncated), the id every collection uses. */
  assetId: string;
  /** The real absolute path of the file. */
  path: string;
  /** `sha256:<64 hex>` of the file's bytes when it was last ingested; a vector with another hash is stale. */
  contentHash: string;
  /** When the entry was last written (ISO 8601). */
  updatedAt: string;
}

/** What a writer passes in (the catalogue stamps `updatedAt`). */
export type CatalogueWrite = Omit<CatalogueEntry, 'updatedAt'>;

/** One page of a scroll in a stable order; pass `next` back for the following page (undefined when done). */
export interface CataloguePage {
  entries: CatalogueEntry[];
  next: string | undefined;
}

import type { ModelStateStore } from './model-state.js';

/**
 * The asset catalogue port: PostgreSQL in production, the embedded engine on one machine. Both pass
 * the same contract suite (src/test/asset-catalogue.contract.ts). It also records which models serve
 * (ModelStateStore): the same durable place every process of the installation already shares.
 */
export interface AssetCatalogue extends ModelStateStore {
  /** Where the catalogue lives (the database, without credentials, or the data folder). */
  readonly location: string;
  /** Adds or replaces entries by asset id; validates every entry first (one bad entry stores nothing). */
  upsert(entries: CatalogueWrite[]): Promise<void>;
  /** The entries of these ids that exist (any order). */
  get(assetIds: string[]): Promise<CatalogueEntry[]>;
  /** Removes entries by id (unknown ids are ignored). */
  remove(assetIds: string[]): Promise<void>;
  count(): Promise<number>;
  /** Every entry exactly once across the pages, also while others write. */
  scroll(opts: { limit: number; cursor?: string | undefined }): Promise<CataloguePage>;
  close(): Promise<void>;
}
