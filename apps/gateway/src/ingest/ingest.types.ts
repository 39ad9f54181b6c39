import type { Logger } from '@image-search/service-kit';
import type { EmbedderApi } from '@image-search/embedder-client';
import type { IngestFile } from '@image-search/jobs';
import type { AssetCatalogue } from '@image-search/asset-catalogue';
import type { AssetPayload, FingerprintGuard, VectorStore } from '@image-search/vector-store';
import type { AssetRoots } from './asset-roots.js';
import type { PreviewStore } from '@image-search/image-formats';
import type { ThumbnailStore } from '../thumbnails/thumbnail-store.js';

/** What one batch did, per file: each file is exactly one of added/changed/moved/unchanged/failed. */
export interface BatchOutcome {
  added: number;
  changed: number;
  moved: number;
  unchanged: number;
  failed: { path: string; reason: string }[];
}

/** One registered model's collection that ingest keeps current (when the collection exists: it is live). */
export interface IngestWriter {
  modelId: string;
  collection: string;
  /** The fingerprint pinned in the registry, if any. */
  fingerprint?: string | undefined;
  /** The model's embedder; a live collection without one refuses the batch (it would fall behind). */
  embedder: EmbedderApi | undefined;
}

/** Everything a batch needs (the store, the live collections' writers, the catalogue, the roots). */
export interface IngestContext {
  store: VectorStore;
  /** The first model's embedder and collection: created on first ingest. */
  clip: EmbedderApi;
  clipCollection: string;
  /**
   * Every registered model's collection, the re-embedding source first: it is written first and deleted
   * first, so a running re-embedding batch that re-checks the source after its write sees any change.
   */
  writers: IngestWriter[];
  roots: AssetRoots;
  logger: Logger;
  deadlineMs?: number;
  /** Refuses to write vectors whose embedder's fingerprint differs from the collection's. */
  guard: FingerprintGuard;
  /** Which assets exist (ids, paths, content hashes), whatever each model's collection holds. */
  catalogue: AssetCatalogue;
  /**
   * The target collection of a re-embedding run in progress, if any: ingest writes new and changed files
   * there too, but leaves unchanged files it lacks to the run instead of embedding them twice.
   */
  runTarget?: () => Promise<string | undefined>;
  /** Thumbnails made at ingest (content-addressed), when configured. */
  thumbnails?: ThumbnailStore | undefined;
  /** Content-keyed previews made at ingest, which re-embedding and re-ingest of unchanged content embed from. */
  previews?: PreviewStore | undefined;
}

/** What one live collection needs for a file: nothing, its payload re-pointed (same vector), or a new vector. */
export type Action = 'keep' | 'repoint' | 'embed';

/** One file being worked on: its stat, bytes, payload and what each live collection needs. */
export interface FileWork {
  file: IngestFile;
  size: number;
  mtimeMs: number;
  data?: Buffer;
  /** What the embedders get when not `data`: the preview of this very content (the original's checks still apply). */
  embedData?: Buffer;
  /** The preview this batch made for the content (embedded and made into the thumbnail without decoding the original again). */
  preview?: Buffer;
  hash?: string;
  payload?: AssetPayload;
  actions: Action[];
}
