import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Worker } from 'bullmq';
import type { Router } from 'express';
import proxyAddr from 'proxy-addr';
import { ApiKeyStore } from '@image-search/api-keys';
import { HealthState, type Logger } from '@image-search/service-kit';
import { EmbedderClient, type EmbedderApi } from '@image-search/embedder-client';
import { createVectorStore, FingerprintGuard, LanceVectorStore, type VectorStore } from '@image-search/vector-store';
import { createAssetCatalogue, type AssetCatalogue } from '@image-search/asset-catalogue';
import {
  ACTIVE_STATES,
  createCatalogueQueue,
  describePersistence,
  NO_PERSISTENCE_ADVICE,
  redisPersistence,
  ReembedControl,
  type CatalogueQueue,
} from '@image-search/jobs';
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
import type { AuthSettings } from './http/auth.middleware.js';
import { SessionStore } from './http/session.js';
import { ImageFiles } from './images/image-files.js';
import { AssetRoots } from './ingest/asset-roots.js';
import { startIngestWorker } from './ingest/ingest.job.js';
import { IngestProgress } from './ingest/ingest-progress.js';
import { IngestService } from './ingest/ingest.service.js';
import { IngestWatcher } from './ingest/ingest-watcher.js';
import type { IngestContext } from './ingest/ingest-batch.js';
import { AssetRemover } from './library/asset-remover.js';
import { ThumbnailStore } from './thumbnails/thumbnail-store.js';
import { DEFAULT_PREVIEW_OPTIONS, PreviewStore } from '@image-search/image-formats';
import { ViewThumbnailRenderer } from './thumbnails/view-renderer.js';
import { rateLimit } from './http/rate-limit.js';
import { GatewayMetrics } from './metrics.js';
import { createAdminMigrationsRouter } from './routes/admin-migrations.router.js';
import { createMigrationStarter } from './routes/migration-starter.js';
import { BreakerSet } from './search/circuit-breaker.js';
import { EmbeddingService } from './search/embedding.service.js';
import { QueryCache, ResultCache } from './search/query-cache.js';
import { PointReader } from './search/point-reader.js';
import { TextBatcher } from './search/text-batcher.js';
import { SearchService, type SearchResponse } from './search/search.service.js';
import { AssetPaths } from './search/asset-paths.js';
import { ShadowMetrics } from './shadow/shadow.metrics.js';
import { ShadowService } from './shadow/shadow.service.js';
import { PairSearch } from './shadow/pair-search.js';
import { OnlineMetrics } from './events/online-metrics.js';
import { SearchIds, sharedSearchIdSecret } from './events/search-id.js';
import { SearchTracking } from './events/search-tracking.js';
import { RampController } from './ramp/ramp-controller.js';
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
    embedders?: { clip: EmbedderApi; siglip: EmbedderApi | undefined; byId?: Record<string, EmbedderApi> };
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
      lance: { readConsistencyMs: config.READ_CONSISTENCY_MS },
    }));
  if (store instanceof LanceVectorStore) metrics.storeCacheBytes = () => store.cacheBytes();
  // Search queries share EmbedTexts calls under load (TextBatcher); image calls go straight through.
  const clip: EmbedderApi =
    opts.embedders?.clip ??
    new TextBatcher(
      new EmbedderClient({ address: config.CLIP_EMBEDDER_URL, defaultDeadlineMs: config.EMBEDDER_DEADLINE_MS }),
    );
  const siglip: EmbedderApi | undefined = opts.embedders
    ? opts.embedders.siglip
    : config.SIGLIP_EMBEDDER_URL
      ? new TextBatcher(
          new EmbedderClient({ address: config.SIGLIP_EMBEDDER_URL, defaultDeadlineMs: config.EMBEDDER_DEADLINE_MS }),
        )
      : undefined;
  const collections = { clip: config.CLIP_COLLECTION, siglip: config.SIGLIP_COLLECTION };
  const points = new PointReader(store);
  const registry = gatewayRegistry(config);
  const catalogue =
    opts.catalogue ?? (await createAssetCatalogue({ url: config.CATALOGUE_URL, dataDir: resolve(config.DATA_DIR) }));
  // The seed's two clients serve the seed entries; every other model with an address gets its own.
  const seedIds = {
    clip: registry.byCollection(collections.clip)?.id,
    siglip: registry.byCollection(collections.siglip)?.id,
  };
  const modelEmbedders = new Map<string, EmbedderApi>();
  const ownClients: EmbedderApi[] = [];
  for (const m of registry.list()) {
    if (m.id === seedIds.clip) modelEmbedders.set(m.id, clip);
    else if (m.id === seedIds.siglip) {
      if (siglip) modelEmbedders.set(m.id, siglip);
    } else if (opts.embedders?.byId?.[m.id]) modelEmbedders.set(m.id, opts.embedders.byId[m.id]);
    else if (m.embedder) {
      const c = new TextBatcher(
        new EmbedderClient({ address: m.embedder, defaultDeadlineMs: config.EMBEDDER_DEADLINE_MS }),
      );
      ownClients.push(c);
      modelEmbedders.set(m.id, c);
    }
  }

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
  const queryCache = new QueryCache({ max: config.QUERY_CACHE_SIZE, ttlMs: config.QUERY_CACHE_TTL_MS });
  const embedding = new EmbeddingService({
    embedders: (id) => modelEmbedders.get(id),
    breakers,
    router,
    cache: queryCache,
    metrics,
    logger,
    deadlineMs: config.EMBEDDER_DEADLINE_MS,
  });
  const results = new ResultCache<SearchResponse>({ max: config.RESULT_CACHE_SIZE, ttlMs: config.RESULT_CACHE_TTL_MS });
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
  const thumbnails = new ThumbnailStore({ dir: thumbnailDir, size: config.THUMBNAIL_SIZE });
  const previews = config.PREVIEW_SIZE
    ? new PreviewStore({
        ...DEFAULT_PREVIEW_OPTIONS,
        dir: resolve(config.PREVIEW_DIR ?? join(config.DATA_DIR, 'previews')),
        shortSide: config.PREVIEW_SIZE,
      })
    : undefined;
  // The re-embedding source first: ingest writes it first and removals delete it first (see AssetRemover).
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

  // Redis: one connection for API reads (fails fast), one for BullMQ (which needs maxRetriesPerRequest: null).
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, connectTimeout: 3000, lazyConnect: false });
  const bull = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, connectTimeout: 3000 });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  bull.on('error', () => undefined);
  // Runs, ingest progress and API keys live in this Redis: say so loudly when a restart would lose them.
  void redisPersistence(redis).then((p) => {
    if (p.unknownReason !== undefined)
      logger.info({ reason: p.unknownReason }, 'could not check whether Redis persists its data (CONFIG GET refused)');
    else if (!p.aof && !p.rdb)
      logger.warn(
        { redis_persistence: describePersistence(p) },
        `Redis has neither AOF nor RDB persistence enabled: a Redis restart loses every re-embedding run, ingest progress and API key; ${NO_PERSISTENCE_ADVICE}`,
      );
    else logger.info({ redis_persistence: describePersistence(p) }, 'Redis persistence');
  });
  const queue: CatalogueQueue<'ingest'> = createCatalogueQueue('ingest', {
    connection: bull,
    prefix: config.QUEUE_PREFIX,
  });
  const progress = new IngestProgress(redis, config.QUEUE_PREFIX);
  const tracking = new SearchTracking({
    ids: new SearchIds(
      await sharedSearchIdSecret(redis, config.QUEUE_PREFIX, logger),
      config.EVENTS_WINDOW_HOURS * 3600_000,
    ),
    online: new OnlineMetrics(
      redis,
      config.QUEUE_PREFIX,
      config.EVENTS_RETENTION_DAYS,
      config.EVENTS_WINDOW_HOURS * 3600_000,
    ),
    logger,
    paths,
    pair: pairSearch,
    interleave: config.INTERLEAVE_BUCKETS,
    deadlineMs: config.EMBEDDER_DEADLINE_MS,
  });
  const ramp = new RampController({
    redis,
    prefix: config.QUEUE_PREFIX,
    online: tracking.online,
    logger,
    pair: () => {
      const p = servingPair.pair;
      return p.to ? { from: p.from.id, to: p.to.id } : undefined;
    },
    shadowOverlap: () => {
      const p = shadow.summary().pairs.find((x) => x.comparisons >= 20);
      return p?.overlap_at_10 ?? null;
    },
    tickMs: config.RAMP_TICK_MS,
  });
  rampRef.current = ramp;
  await ramp.start();
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
  const ingest = new IngestService({ roots, queue, progress, ctx });
  let worker: Worker | undefined;
  if (config.INGEST_WORKER)
    worker = startIngestWorker({
      ctx,
      queue,
      progress,
      remover,
      batchSize: config.INGEST_BATCH_SIZE,
      logger,
      metrics,
      connection: bull,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.INGEST_CONCURRENCY,
    });
  const watcher = config.INGEST_WATCH
    ? new IngestWatcher({
        roots: roots.roots,
        logger,
        debounceMs: config.INGEST_WATCH_DEBOUNCE_MS,
        maxWaitMs: config.INGEST_WATCH_MAX_WAIT_MS,
        ingest: {
          start: async (folder) => {
            const r = await ingest.start({ rootPath: folder, recursive: true, extensions: undefined, dryRun: false });
            return 'ingest_id' in r ? r.ingest_id : '';
          },
          state: async (id) => (await ingest.status(id)).state,
        },
      })
    : undefined;
  await watcher?.start();
  const control = new ReembedControl({
    redis,
    prefix: config.QUEUE_PREFIX,
    // The serving pair (the registry's, until a migration or retirement recorded another).
    sourceCollection: registry.pair.from.collection,
    targetCollection: registry.pair.to.collection,
    models: { from: registry.pair.from.id, to: registry.pair.to.id },
    current: () => {
      const p = servingPair.pair;
      const to = p.to ?? registry.pair.to;
      return {
        sourceCollection: p.from.collection,
        targetCollection: to.collection,
        models: { from: p.from.id, to: to.id },
      };
    },
    store,
  });
  const starter = createMigrationStarter({ registry, state: catalogue, serving: servingPair });
  const adminMigrationsRouter: Router = createAdminMigrationsRouter({ control, starter, logger });
  // The old /admin/siglip routes (users' scripts): the same run, every start the configured pair's.
  const adminSiglipRouter: Router = createAdminMigrationsRouter({
    control,
    starter,
    pinned: { from: registry.pair.from.id, to: registry.pair.to.id },
    logger,
  });
  const trustedProxy = config.AUTH_PROXY_HEADER ? proxyAddr.compile(config.AUTH_TRUSTED_PROXIES) : undefined;
  const apiKeys = config.AUTH_API_KEYS ? new ApiKeyStore(redis, config.QUEUE_PREFIX) : undefined;
  const auth: AuthSettings = {
    apiKeys,
    sessions: apiKeys
      ? new SessionStore(redis, config.QUEUE_PREFIX, config.AUTH_SESSION_TTL_S, (id) => apiKeys.isActive(id))
      : undefined,
    adminToken: config.ADMIN_TOKEN,
    proxy:
      config.AUTH_PROXY_HEADER && trustedProxy
        ? {
            header: config.AUTH_PROXY_HEADER,
            trusted: (addr: string) => trustedProxy(addr, 0),
            admins: new Set(config.AUTH_PROXY_ADMINS),
          }
        : undefined,
    anonymous: config.ALLOW_ANONYMOUS || !authConfigured(config),
  };

  // Rate-limit counters get their own connection: no offline queue and a short timeout, so a Redis
  // outage lets requests through at once (fail open) instead of holding each one for the retries.
  const limiterRedis =
    config.RATE_LIMIT_SEARCH_PER_MIN > 0 || config.RATE_LIMIT_UPLOAD_PER_MIN > 0
      ? new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000 })
      : undefined;
  limiterRedis?.on('error', () => undefined);
  // Without an offline queue, a command sent before the connection is up fails (and the request
  // passes unlimited), so the first requests after start would escape the limit: wait briefly for
  // the connection; a Redis that is down at start still fails open, as later outages do.
  if (limiterRedis && limiterRedis.status !== 'ready')
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 3000);
      limiterRedis.once('ready', done);
      function done() {
        clearTimeout(timer);
        limiterRedis?.off('ready', done);
        resolve();
      }
    });
  const limit = (name: string, perMinute: number) =>
    rateLimit({
      name,
      perMinute,
      logger,
      ...(limiterRedis ? { store: { redis: limiterRedis, prefix: config.QUEUE_PREFIX } } : {}),
      onLimited: (n) => metrics.rateLimited.inc({ limit: n }),
      onStoreError: (n) => metrics.rateLimitStoreErrors.inc({ limit: n }),
    });
  const limits = {
    events: limit('events', config.RATE_LIMIT_EVENTS_PER_MIN),
    search: limit('search', config.RATE_LIMIT_SEARCH_PER_MIN),
    upload: limit('upload', config.RATE_LIMIT_UPLOAD_PER_MIN),
    ingest: limit('ingest', config.RATE_LIMIT_UPLOAD_PER_MIN),
  };

  // One embedder down degrades the gateway without making it unready: search answers from the other
  // (EmbeddingService), so a load balancer keeps sending traffic while a crashed embedder restarts.
  const serving = (api: EmbedderApi) => () => api.isServing({ deadlineMs: 1500 }).catch(() => false);
  health.addCheck('clip_embedder', serving(clip), { required: false });
  if (siglip) health.addCheck('siglip_embedder', serving(siglip), { required: false });
  health.addCheck('search_embedder', async () => {
    const { from, to } = router.pair;
    const api = (id: string) => modelEmbedders.get(id);
    const fromApi = api(from.model);
    const toApi = to ? api(to.model) : undefined;
    return (
      (fromApi !== undefined && (await serving(fromApi)())) ||
      (toApi !== undefined && !router.blocker() && (await serving(toApi)()))
    );
  });
  health.addCheck('vector_store', async () => {
    await store.exists(collections.clip);
    return true;
  });

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
      clip.close();
      siglip?.close();
      for (const c of ownClients) c.close();
      redis.disconnect();
      bull.disconnect();
      limiterRedis?.disconnect();
      if (!opts.store) await store.close();
      if (!opts.catalogue) await catalogue.close();
      await viewThumbnails.close();
    },
  };
}
