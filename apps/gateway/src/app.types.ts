import type { RequestHandler, Router } from 'express';
import type { HealthState, Logger } from '@image-search/service-kit';
import type { VectorStore } from '@image-search/vector-store';
import type { ModelRegistry, ServingPairSource } from '@image-search/model-registry';
import type { AssetCatalogue } from '@image-search/asset-catalogue';
import type { ModelsService } from './models/models.service.js';
import type { CoverageMonitor, FlagsSource, RolloutRouter } from '@image-search/rollout-router';
import type { BreakerSet } from './search/circuit-breaker.js';
import type { SearchService } from './search/search.service.js';
import type { ImageFiles } from './images/image-files.js';
import type { AssetRemover } from './library/asset-remover.js';
import type { ThumbnailStore } from './thumbnails/thumbnail-store.js';
import type { ViewThumbnailRenderer } from './thumbnails/view-renderer.js';
import type { IngestService } from './ingest/ingest.service.js';
import type { GatewayMetrics } from './metrics.js';
import type { AuthSettings } from './http/auth.middleware.js';
import type { AssetPaths } from './search/asset-paths.js';
import type { AssetRoots } from './ingest/asset-roots.js';
import type { QueryCache } from './search/query-cache.js';
import type { PointReader } from './search/point-reader.js';
import type { ShadowService } from './shadow/shadow.service.js';
import type { SearchTracking } from './events/search-tracking.js';
import type { RampController } from './ramp/ramp-controller.js';
import type { RolloutFlags } from '@image-search/rollout-router';

/** Everything the HTTP app needs, wired by main.ts (or by a test with fakes). */
export interface GatewayDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  health: HealthState;
  store: VectorStore;
  /** Lookups by id, coalesced into one store call per turn of the event loop. */
  points: PointReader;
  collections: { clip: string; siglip: string };
  /** Every registered model (seed pair + MODEL_REGISTRY_FILE). */
  registry: ModelRegistry;
  /** The registered models with their embedders' and collections' state (admin API). */
  models: ModelsService;
  /** Which assets exist (ids, paths, content hashes): what collections are compared with. */
  catalogue: AssetCatalogue;
  router: RolloutRouter;
  /** The pair serving now (recorded model state, else the registry's rollout pair). */
  servingPair: ServingPairSource;
  flags: FlagsSource;
  coverage: CoverageMonitor;
  /** One circuit breaker per registered model's embedder, by model id. */
  breakers: BreakerSet;
  search: SearchService;
  /** Repeats a share of text searches on the other model after the answer (SHADOW_PERCENTAGE); absent in some tests. */
  shadow?: ShadowService | undefined;
  /** Search ids, online metrics and interleaving (POST /events); absent in some tests. */
  tracking?: SearchTracking | undefined;
  /** The guarded ramp (state in Redis, one leader); absent in some tests. */
  ramp?: RampController | undefined;
  /** The flags the router uses now: the operator's, or the ramp's bounded by them. */
  effectiveFlags?: (() => RolloutFlags) | undefined;
  queryCache: QueryCache;
  images: ImageFiles;
  /** Content-addressed thumbnails made at ingest. */
  thumbnails: ThumbnailStore;
  /** Renders thumbnails missing at view time in a decode process under MAX_DECODE_MS. */
  viewThumbnails: ViewThumbnailRenderer;
  /** Removes assets from the catalogue, every collection and the thumbnails. */
  remover: AssetRemover;
  ingest: IngestService;
  /** The re-embedding runs between registered models (mounted at /api/v1/admin/migrations behind admin auth). */
  adminMigrationsRouter?: Router | undefined;
  /** The old re-embedding routes (mounted at /api/v1/admin/siglip), pinned to the configured pair. */
  adminSiglipRouter?: Router | undefined;
  /** Per-client rate limits (counted in Redis, shared by every replica; pass-through when 0). */
  limits: { search: RequestHandler; upload: RequestHandler; ingest: RequestHandler; events?: RequestHandler };
  /** How requests are authenticated (API keys, proxy header, ADMIN_TOKEN, anonymous). */
  auth: AuthSettings;
  /** The allowed asset folders (ASSET_ROOTS), checked again before any file is read. */
  assetRoots: AssetRoots;
  /** Server paths as clients see them (asset root name + relative path). */
  paths: AssetPaths;
  settings: {
    /** Whether API keys or a proxy header are configured (images are then `Cache-Control: private`). */
    authConfigured: boolean;
    jsonBodyLimit: string;
    maxUploadBytes: number;
    /** Pixel limit of the upload pre-check (MAX_IMAGE_PIXELS). */
    maxImagePixels: number;
    trustProxy: boolean;
    /** Thumbnail size in pixels (part of thumbnails' ETag). */
    thumbnailSize: number;
  };
}
