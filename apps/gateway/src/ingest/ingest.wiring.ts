import type { Redis } from 'ioredis';
import type { Worker } from 'bullmq';
import type { Logger } from '@image-search/service-kit';
import type { CatalogueQueue } from '@image-search/jobs';
import type { GatewayConfig } from '../config.js';
import type { AssetRemover } from '../library/asset-remover.js';
import type { GatewayMetrics } from '../metrics.js';
import type { AssetRoots } from './asset-roots.js';
import type { IngestContext } from './ingest-batch.js';
import { startIngestWorker } from './ingest.job.js';
import type { IngestProgress } from './ingest-progress.js';
import { IngestService } from './ingest.service.js';
import { IngestWatcher } from './ingest-watcher.js';

/** Ingest as configured: the API's service, the in-process worker (INGEST_WORKER) and the watcher (INGEST_WATCH). */
export async function wireIngest(
  config: GatewayConfig,
  deps: {
    ctx: IngestContext;
    roots: AssetRoots;
    queue: CatalogueQueue<'ingest'>;
    progress: IngestProgress;
    remover: AssetRemover;
    logger: Logger;
    metrics: GatewayMetrics;
    bull: Redis;
  },
): Promise<{ ingest: IngestService; worker: Worker | undefined; watcher: IngestWatcher | undefined }> {
  const { ctx, roots, queue, progress, logger } = deps;
  const ingest = new IngestService({ roots, queue, progress, ctx });
  const worker = config.INGEST_WORKER
    ? startIngestWorker({
        ctx,
        queue,
        progress,
        remover: deps.remover,
        batchSize: config.INGEST_BATCH_SIZE,
        logger,
        metrics: deps.metrics,
        connection: deps.bull,
        prefix: config.QUEUE_PREFIX,
        concurrency: config.INGEST_CONCURRENCY,
      })
    : undefined;
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
  return { ingest, worker, watcher };
}
