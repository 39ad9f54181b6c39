import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { createLogger, GracefulShutdown, HealthState, isAppError, startHealthServer } from '@image-search/service-kit';
import { createVectorStore, FingerprintGuard } from '@image-search/vector-store';
import { createAssetCatalogue } from '@image-search/asset-catalogue';
import { createCatalogueQueue, createCatalogueWorker, defaultJobOptions, ReembedRunStore } from '@image-search/jobs';
import { ServingPairSource } from '@image-search/model-registry';
import { loadWorkerConfig, workerRegistry } from './config.js';
import { resolveRoots } from './asset-reader.js';
import { PreviewFiles } from '@image-search/image-formats/preview-files';
import { EmbedPacer } from './embed-pacer.js';
import { createWorkerMetrics } from './metrics.js';
import { processReembedBatch } from './reembed-batch.job.js';
import { onJobFailed } from './job-failures.js';
import { processPlan, processVerify } from './reembed-control.jobs.js';
import { PairDepsCache } from './pair-deps.js';

const config = loadWorkerConfig();
const logger = createLogger('reembed-worker', config.LOG_LEVEL);
const registry = workerRegistry(config);
const health = new HealthState();

const { roots, missing } = await resolveRoots(config.ASSET_ROOTS);
if (roots.length === 0) {
  logger.fatal(
    { ASSET_ROOTS: config.ASSET_ROOTS, missing },
    'no usable ASSET_ROOTS: set ASSET_ROOTS to the comma-separated folders that hold the images',
  );
  process.exit(2);
}
if (missing.length > 0)
  logger.warn({ missing }, 'some ASSET_ROOTS do not exist; assets under them will fail with FILE_MISSING');

// One connection for the worker (BullMQ needs maxRetriesPerRequest null so commands wait through a Redis restart).
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error (reconnecting)'));
const runs = new ReembedRunStore(redis, config.QUEUE_PREFIX);
const jobOptions = defaultJobOptions(config.REEMBED_ATTEMPTS, {
  baseMs: config.REEMBED_BACKOFF_MS,
  capMs: config.REEMBED_BACKOFF_MAX_MS,
});
const queue = createCatalogueQueue('reembed', {
  connection: redis,
  prefix: config.QUEUE_PREFIX,
  defaultJobOptions: jobOptions,
});
const store = await createVectorStore({
  qdrantUrl: config.QDRANT_URL,
  qdrantApiKey: config.QDRANT_API_KEY,
  dataDir: config.DATA_DIR,
  logger,
});
const metrics = createWorkerMetrics(() =>
  queue.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'paused', 'prioritized'),
);
const pacer = new EmbedPacer({
  maxInflight: config.REEMBED_MAX_INFLIGHT,
  ratePerS: config.REEMBED_RATE_PER_S,
  onLimitChange: (limit) => {
    metrics.inflightLimit.set(limit);
    logger.info({ inflight_limit: limit }, 'embedder back-pressure: adjusted requests in flight');
  },
  onThrottled: (waitMs) => {
    metrics.throttled.inc();
    logger.warn({ wait_ms: waitMs }, 'embedder answered RESOURCE_EXHAUSTED: slowing down');
  },
});
metrics.inflightLimit.set(pacer.currentLimit);
const stopping = new AbortController();
const catalogue = await createAssetCatalogue({ url: config.CATALOGUE_URL, dataDir: config.DATA_DIR });
// A run names the pair it migrates; a run from before runs named it migrates the serving pair at start
// (the recorded model state's, else the registry's rollout pair).
const serving = new ServingPairSource(registry, catalogue);
await serving.start();
const startPair = serving.pair;
const pairs = new PairDepsCache(
  registry,
  {
    runs,
    queue,
    store,
    logger,
    catalogue,
    vectorSample: config.REEMBED_VERIFY_SAMPLE,
    pacer,
    metrics,
    roots,
    maxImageBytes: config.MAX_IMAGE_BYTES,
    readConcurrency: config.REEMBED_READ_CONCURRENCY,
    // Read-only here: the gateway makes them at ingest (their size and quality are its settings).
    previews: new PreviewFiles(resolve(config.PREVIEW_DIR ?? join(config.DATA_DIR, 'previews'))),
    embedDeadlineMs: config.EMBEDDER_DEADLINE_MS,
    guard: new FingerprintGuard(store),
    stopping: stopping.signal,
  },
  runs,
  () => ({ from: startPair.from.id, to: (startPair.to ?? registry.pair.to).id }),
  logger,
);

const worker = createCatalogueWorker(
  'reembed',
  {
    'reembed.plan': async (job) => processPlan(job, await pairs.forRun(job.data.runId)),
    'reembed.batch': async (job, token) => processReembedBatch(job, token, await pairs.forRun(job.data.runId)),
    'reembed.verify': async (job) => processVerify(job, await pairs.forRun(job.data.runId)),
  },
  {
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    backoff: { baseMs: config.REEMBED_BACKOFF_MS, capMs: config.REEMBED_BACKOFF_MAX_MS },
    workerOptions: {
      concurrency: config.REEMBED_CONCURRENCY,
      // A batch whose worker died is re-queued once (stalled-job recovery), then failed: at most two runs of it.
      maxStalledCount: 1,
      lockDuration: config.REEMBED_LOCK_MS,
      stalledInterval: config.REEMBED_STALLED_INTERVAL_MS,
      autorun: false,
    },
  },
);

worker.on(
  'failed',
  onJobFailed(runs, (runId) => pairs.forRun(runId), logger),
);
worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));
worker.on('stalled', (jobId) => logger.warn({ job_id: jobId }, 'job stalled (its worker died?); re-queued'));

health.addCheck('redis', async () => (await redis.ping()) === 'PONG');
const server = await startHealthServer({
  host: config.WORKER_HEALTH_HOST,
  port: config.WORKER_HEALTH_PORT,
  health,
  registry: metrics.registry,
});
void worker.run().catch((err: unknown) => logger.error({ err }, 'worker loop stopped'));
health.setReady(true);
logger.info(
  {
    health_port: server.port,
    queue: `${config.QUEUE_PREFIX}:reembed`,
    serving_pair: `${startPair.from.id} -> ${startPair.to?.id ?? '(none)'}`,
    concurrency: config.REEMBED_CONCURRENCY,
    rate_per_s: config.REEMBED_RATE_PER_S,
    roots,
  },
  'reembed-worker started',
);
// Learn the serving pair's embedder limits early so a wrong model (dimension) shows in the log at start.
try {
  void pairs
    .forModels(startPair.from.id, (startPair.to ?? registry.pair.to).id)
    .limits()
    .catch((err: unknown) =>
      logger.warn(
        { err: isAppError(err) ? err.message : String(err) },
        'target embedder not reachable yet; batches wait and retry',
      ),
    );
} catch (err) {
  logger.warn({ err: (err as Error).message }, 'the serving pair cannot be migrated by this worker');
}

new GracefulShutdown(logger, config.SHUTDOWN_TIMEOUT_MS)
  .add('readiness off', () => health.setReady(false))
  .add('finish or return active batches', async () => {
    // Let active batches finish; past half the deadline, hand them back to the queue at their next chunk.
    const timer = setTimeout(() => stopping.abort(), Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2));
    await worker.close();
    clearTimeout(timer);
  })
  .add('queue', () => queue.close())
  .add('embedder clients', () => pairs.close())
  .add('vector store', () => store.close())
  .add('asset catalogue', () => catalogue.close())
  .add('health server', () => server.close())
  .add('redis', async () => {
    await redis.quit().catch(() => redis.disconnect());
  })
  .listen();
