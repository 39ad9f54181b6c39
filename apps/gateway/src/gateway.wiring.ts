import { join, resolve } from 'node:path';
import { HealthState, type Logger } from '@image-search/service-kit';
import { createVectorStore, FingerprintGuard, LanceVectorStore, type VectorStore } from '@image-search/vector-store';
import { createAssetCatalogue, type AssetCatalogue } from '@image-search/asset-catalogue';
import { ACTIVE_STATES, createCatalogueQueue, type CatalogueQueue } from '@image-search/jobs';
import { ServingPairSource, type RegisteredModel } from '@image-search/model-registry';
import {
  CoverageMonitor,
  FlagsSource,
  RolloutRouter,
  type RoutePair,
  type RouteTarget,
} from '@image-search/rollout-router';
import type { GatewayDeps } from './app.types.js';
import { ModelsService } from './models/models.service.js';
import { authConfigured, gatewayRegistry, rolloutEnv, type GatewayConfig } from './config.js';
import { ImageFiles } from './images/image-files.js';
import { AssetRoots } from './ingest/asset-roots.js';
import { IngestProgress } from './ingest/ingest-progress.js';
import type { IngestWatcher } from './ingest/ingest-watcher.js';
import { wireIngest } from './ingest/ingest.wiring.js';
import type { IngestContext } from './ingest/ingest-batch.js';
import { AssetRemover } from './library/asset-remover.js';
import { ThumbnailStore } from './thumbnails/thumbnail-store.js';
import { DEFAULT_PREVIEW_OPTIONS, PreviewStore } from '@image-search/image-formats';
import { ViewThumbnailRenderer } from './thumbnails/view-renderer.js';
import { GatewayMetrics } from './metrics.js';
import { BreakerSet } from './search/circuit-breaker.js';
import { EmbeddingService } from './search/embedding.service.js';
import { QueryCache, ResultCache } from './search/query-cache.js';
import { PointReader } from './search/point-reader.js';
import { SearchService, type SearchResponse } from './search/search.service.js';
import { AssetPaths } from './search/asset-paths.js';
import { wireEmbedderClients, type InjectedEmbedders } from './search/embedder-clients.wiring.js';
import { wireAuth, wireRateLimits } from './http/http-guards.wiring.js';
import { addHealthChecks } from './health.wiring.js';
import { wireRedis } from './redis.wiring.js';
import { ShadowMetrics } from './shadow/shadow.metrics.js';
import { ShadowService } from './shadow/shadow.service.js';
import { PairSearch } from './shadow/pair-search.js';
import type { RampController } from './ramp/ramp-controller.js';
import { wireExperiments } from './events/experiments.wiring.js';
import { wireMigrations } from './routes/admin-migrations.wiring.js';
import { effectiveFlags } from './ramp/ramp-plan.js';

/** The wired gateway: its app dependencies and what must be stopped on shutdown. */
export interface Gateway {
  deps: GatewayDeps;
  stop: () => Promise<void>;
  /** The watch-mode watcher (INGEST_WATCH=true), if any. */
  watcher?: IngestWatcher | undefined;
}

/** Builds every dependency from the parsed config (plain constructors, no container); tests may pass the store and embedders. */
export async function wireGateway(
  config: GatewayConfig,
  logger: Logger,
  opts: {
    store?: VectorStore;
    catalogue?: AssetCatalogue;
    embedders?: InjectedEmbedders;
  } = {},
): Promise<Gateway> {
  const metrics = new GatewayMetrics();
  const health = new HealthState();
  const store =
    opts.store ??
    (await createVectorStore({
      qdrantUrl: config.QDRANT_URL,
      qdrantApiKey: config.QDRANT_API_KEY,
      dataDir: resolve(config.DATA_DIR),
      logger,
      lance: {
        readConsistencyMs: config.READ_CONSISTENCY_MS,
        cacheBytes: { index: config.STORE_INDEX_CACHE_BYTES, metadata: config.STORE_METADATA_CACHE_BYTES },
      },
    }));
  if (store instanceof LanceVectorStore) metrics.storeCacheBytes = () => store.cacheBytes();
  const collections = { clip: config.CLIP_COLLECTION, siglip: config.SIGLIP_COLLECTION };
  const points = new PointReader(store);
  const registry = gatewayRegistry(config);
  const catalogue =
    opts.catalogue ?? (await createAssetCatalogue({ url: config.CATALOGUE_URL, dataDir: resolve(config.DATA_DIR) }));
  const embedders = wireEmbedderClients(config, registry, opts.embedders);
  const { clip, siglip } = embedders;
  const modelEmbedders = embedders.byModel;

  const onBreaker = (name: string, state: string) =>
    logger.warn({ embedder: name, state }, `${name} embedder circuit breaker ${state}`);
  const breakers = new BreakerSet({
    failures: config.BREAKER_FAILURES,
    cooldownMs: config.BREAKER_COOLDOWN_MS,
    onStateChange: onBreaker,
  });
  const flags = new FlagsSource(rolloutEnv(config), {
    ...(config.FLAGS_FILE ? { filePath: config.FLAGS_FILE } : {}),
    pollMs: config.FLAGS_POLL_MS,
    logger,
  });
  await flags.start();
  // The serving pair: the recorded model state's (a retirement or a new migration moves it on, read by every
  // gateway within COVERAGE_REFRESH_MS), else the registry's rollout pair.
  const servingPair = new ServingPairSource(registry, catalogue, {
    intervalMs: config.COVERAGE_REFRESH_MS,
    onError: (err) => logger.warn({ err: err.message }, 'cannot read the model state; keeping the serving pair'),
  });
  await servingPair.start();
  const target = (m: RegisteredModel): RouteTarget => ({
    model: m.id,
    family: m.family,
    collection: m.collection,
    embedder: m.embedder ?? '',
  });
  // A `to` model without an embedder client is not servable.
  const pair = (): RoutePair => {
    const p = servingPair.pair;
    return { from: target(p.from), to: p.to && modelEmbedders.has(p.to.id) ? target(p.to) : undefined };
  };
  const coverage = new CoverageMonitor(
    store,
    () => {
      const p = servingPair.pair;
      return {
        from: { model: p.from.id, collection: p.from.collection },
        to: p.to ? { model: p.to.id, collection: p.to.collection } : undefined,
      };
    },
    { intervalMs: config.COVERAGE_REFRESH_MS, logger, catalogueCount: () => catalogue.count() },
  );
  await coverage.start();
  const models = new ModelsService({
    registry,
    store,
    embedders: modelEmbedders,
    deadlineMs: 1500,
    pair: () => servingPair.pair,
  });
  // The guarded ramp (wired below, once Redis is) routes within the operator's flags while it runs.
  const rampRef: { current?: RampController } = {};
  const routedFlags = () => (rampRef.current ? effectiveFlags(flags.flags, rampRef.current.current) : flags.flags);
  const router = new RolloutRouter({
    flags: routedFlags,
    coverage: () => coverage.snapshot,
    available: (id) => breakers.get(id).allows(),
    pair,
    coverageMode: () => config.COVERAGE_MODE,
  });
  const queryCache = new QueryCache({
    max: config.QUERY_CACHE_SIZE,
    maxBytes: config.QUERY_CACHE_MAX_BYTES,
    ttlMs: config.QUERY_CACHE_TTL_MS,
  });
  const embedding = new EmbeddingService({
    embedders: (id) => modelEmbedders.get(id),
    breakers,
    router,
    cache: queryCache,
    metrics,
    logger,
    deadlineMs: config.EMBEDDER_DEADLINE_MS,
  });
  const results = new ResultCache<SearchResponse>({
    max: config.RESULT_CACHE_SIZE,
    maxBytes: config.RESULT_CACHE_MAX_BYTES,
    ttlMs: config.RESULT_CACHE_TTL_MS,
  });
  metrics.cacheBytes = () => ({ result: results.bytes, query: queryCache.bytes });
  const { roots, missing } = await AssetRoots.resolve(config.ASSET_ROOTS);
  if (missing.length) logger.warn({ missing }, 'some ASSET_ROOTS do not exist; they are ignored');
  const paths = new AssetPaths(roots.roots);
  const search = new SearchService({
    router,
    embedding,
    store,
    points,
    metrics,
    results,
    coverage: () => coverage.snapshot,
    paths,
  });
  const thumbnailDir = resolve(config.THUMBNAIL_DIR ?? join(config.DATA_DIR, 'thumbnails'));
  const pairSearch = new PairSearch({
    pair: () => servingPair.pair,
    embedders: modelEmbedders,
    store,
    cache: queryCache,
  });
  const shadow = new ShadowService({
    pair: pairSearch,
    metrics: new ShadowMetrics(metrics.registry),
    logger,
    settings: {
      percentage: config.SHADOW_PERCENTAGE,
      maxConcurrency: config.SHADOW_MAX_CONCURRENCY,
      maxPerSecond: config.SHADOW_MAX_PER_S,
      deadlineMs: config.SHADOW_DEADLINE_MS,
      idleWaitMs: config.SHADOW_IDLE_WAIT_MS,
    },
  });
  const viewThumbnails = new ViewThumbnailRenderer({
    size: config.THUMBNAIL_SIZE,
    timeoutMs: config.MAX_DECODE_MS,
    onReplace: (why, detail) => logger.warn({ why }, `${detail}; thumbnail decode process replaced`),
  });
  const images = new ImageFiles({
    store,
    collections: [collections.clip, collections.siglip],
    roots,
    thumbnailDir,
    size: config.THUMBNAIL_SIZE,
    render: (bytes) => viewThumbnails.render(bytes),
  });
  // Ingest previews and thumbnails decode originals in their own killable processes (one per ingest job), under
  // the same budget as the embedders' decodes, so an ingest never waits behind view thumbnails or holds sharp's threads.
  const ingestDecodes = new ViewThumbnailRenderer({
    size: config.THUMBNAIL_SIZE,
    timeoutMs: config.MAX_DECODE_MS,
    processes: config.INGEST_CONCURRENCY,
    onReplace: (why, detail) => logger.warn({ why }, `${detail}; ingest decode process replaced`),
  });
  const thumbnails = new ThumbnailStore({
    dir: thumbnailDir,
    size: config.THUMBNAIL_SIZE,
    render: (bytes) => ingestDecodes.render(bytes),
  });
  const previews = config.PREVIEW_SIZE
    ? new PreviewStore({
        ...DEFAULT_PREVIEW_OPTIONS,
        dir: resolve(config.PREVIEW_DIR ?? join(config.DATA_DIR, 'previews')),
        shortSide: config.PREVIEW_SIZE,
        render: (bytes, opts) => ingestDecodes.preview(bytes, opts),
      })
    : undefined;
  // Ingest writes the re-embedding source first; removals delete the serving source first, as it is at the time
  // of the removal (it moves on when a model is retired), see AssetRemover.
  const ordered = [registry.pair.from, ...registry.list().filter((m) => m.id !== registry.pair.from.id)];
  const remover = new AssetRemover({
    store,
    catalogue,
    collections: () => {
      const source = servingPair.pair.from;
      return [...new Set([source, ...registry.list()].map((m) => m.collection))];
    },
    thumbnails,
    previews,
    logger,
  });

  const redisConnections = wireRedis(config.REDIS_URL, logger);
  const { redis, bull } = redisConnections;
  const queue: CatalogueQueue<'ingest'> = createCatalogueQueue('ingest', {
    connection: bull,
    prefix: config.QUEUE_PREFIX,
  });
  const progress = new IngestProgress(redis, config.QUEUE_PREFIX);
  const { tracking, ramp } = await wireExperiments(config, { redis, logger, paths, pairSearch, servingPair, shadow });
  rampRef.current = ramp;
  await ramp.start();
  const { control, adminMigrationsRouter, adminSiglipRouter } = wireMigrations({
    redis,
    prefix: config.QUEUE_PREFIX,
    registry,
    servingPair,
    state: catalogue,
    store,
    logger,
  });
  const ctx: IngestContext = {
    store,
    clip,
    clipCollection: collections.clip,
    writers: ordered.map((m) => ({
      modelId: m.id,
      collection: m.collection,
      fingerprint: m.fingerprint,
      embedder: modelEmbedders.get(m.id),
    })),
    roots,
    logger,
    deadlineMs: config.EMBEDDER_DEADLINE_MS * 6,
    guard: new FingerprintGuard(store),
    catalogue,
    thumbnails,
    previews,
    runTarget: async () => {
      const id = await control.runs.currentId();
      const state = id ? await control.runs.state(id) : null;
      return state && ACTIVE_STATES.includes(state) ? (servingPair.pair.to ?? registry.pair.to).collection : undefined;
    },
  };
  const { ingest, worker, watcher } = await wireIngest(config, {
    ctx,
    roots,
    queue,
    progress,
    remover,
    logger,
    metrics,
    bull,
  });
  const auth = wireAuth(config, redis);
  const rateLimits = await wireRateLimits(config, logger, metrics);
  const limits = rateLimits.limits;

  addHealthChecks(health, { clip, siglip, byModel: modelEmbedders, router, store, collection: collections.clip });

  const deps: GatewayDeps = {
    logger,
    metrics,
    health,
    store,
    points,
    collections,
    registry,
    models,
    catalogue,
    router,
    servingPair,
    flags,
    coverage,
    breakers,
    search,
    shadow,
    tracking,
    ramp,
    effectiveFlags: routedFlags,
    queryCache,
    images,
    thumbnails,
    viewThumbnails,
    remover,
    ingest,
    adminSiglipRouter,
    adminMigrationsRouter,
    limits,
    auth,
    assetRoots: roots,
    paths,
    settings: {
      authConfigured: authConfigured(config),
      jsonBodyLimit: config.JSON_BODY_LIMIT,
      maxUploadBytes: config.MAX_UPLOAD_BYTES,
      maxImagePixels: config.MAX_IMAGE_PIXELS,
      trustProxy: config.TRUST_PROXY,
      thumbnailSize: config.THUMBNAIL_SIZE,
    },
  };
  return {
    deps,
    watcher,
    stop: async () => {
      flags.stop();
      ramp.stop();
      coverage.stop();
      await shadow.drain();
      servingPair.stop();
      await watcher?.stop();
      await worker?.close();
      await control.close();
      await queue.close();
      embedders.close();
      // The last counts summed in memory (at most ONLINE_FLUSH_MS of searches) go out before Redis closes.
      await tracking.online.flush().catch(() => undefined);
      redisConnections.close();
      rateLimits.close();
      if (!opts.store) await store.close();
      if (!opts.catalogue) await catalogue.close();
      await viewThumbnails.close();
      await ingestDecodes.close();
    },
  };
}
