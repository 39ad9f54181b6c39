import { UnrecoverableError, type Worker } from 'bullmq';
import { isAppError, withCorrelationId, type Logger } from '@image-search/service-kit';
import {
  createCatalogueWorker,
  type CatalogueHandlers,
  type CatalogueQueue,
  type IngestFile,
  type QueueContext,
} from '@image-search/jobs';
import { discoverImages } from './discover.js';
import { planReconciliation } from './reconcile.js';
import type { AssetRemover } from '../library/asset-remover.js';
import { ingestBatch, type IngestContext } from './ingest-batch.js';
import type { IngestProgress } from './ingest-progress.js';
import type { GatewayMetrics } from '../metrics.js';

/** Handlers of the `ingest` queue: scan (discover, reconcile with the catalogue, remove vanished files, enqueue batches) and batch. */
export function ingestHandlers(deps: {
  ctx: IngestContext;
  queue: CatalogueQueue<'ingest'>;
  progress: IngestProgress;
  remover: AssetRemover;
  batchSize: number;
  logger: Logger;
  metrics?: GatewayMetrics;
}): CatalogueHandlers<'ingest'> {
  return {
    'ingest.scan': async (job) => {
      const { ingestId, rootPath, recursive, extensions, correlationId } = job.data;
      await deps.progress.setState(ingestId, 'scanning');
      // Re-check the root: the job may run long after the request, on another replica.
      if (!deps.ctx.roots.contains(rootPath)) {
        await deps.progress.setState(ingestId, 'failed', `${rootPath} is outside ASSET_ROOTS`);
        return { refused: true };
      }
      const found = await discoverImages(rootPath, { recursive, extensions, roots: deps.ctx.roots });
      // An unreadable root (an unmounted disk) must not read as "every file vanished".
      const unreadable = found.refused.find((r) => r.path === rootPath);
      if (unreadable) {
        await deps.progress.setState(ingestId, 'failed', `${rootPath}: ${unreadable.reason}; nothing was removed`);
        return { refused: true };
      }
      const plan = await planReconciliation({
        root: rootPath,
        recursive,
        discovered: found.files,
        catalogue: deps.ctx.catalogue,
      });
      // Vanished files go before any batch runs, so a completed report has nothing left to remove.
      await deps.remover.remove(plan.removed.map((e) => e.assetId));
      deps.metrics?.ingestFiles.inc({ outcome: 'removed' }, plan.removed.length);
      deps.metrics?.ingestFiles.inc({ outcome: 'refused' }, found.refused.length);
      const batches: IngestFile[][] = [];
      for (let i = 0; i < plan.files.length; i += deps.batchSize) batches.push(plan.files.slice(i, i + deps.batchSize));
      await deps.progress.planned(ingestId, {
        discovered: found.files.length + found.refused.length,
        batches: batches.length,
        refused: found.refused,
        removed: plan.removed.length,
      });
      // Deterministic job ids: a re-run scan adds no duplicate batches.
      // In slices, so a million-file scan never builds one enormous Redis transaction.
      for (let from = 0; from < batches.length; from += 500) {
        await deps.queue.addBulk(
          batches.slice(from, from + 500).map((files, i) => ({
            name: 'ingest.batch' as const,
            data: { ingestId, batchNo: from + i, files, ...(correlationId ? { correlationId } : {}) },
            opts: { jobId: `batch-${ingestId}-${from + i}` },
          })),
        );
        await job.updateProgress({ enqueued: Math.min(batches.length, from + 500), batches: batches.length });
      }
      deps.logger.info(
        {
          ingest_id: ingestId,
          files: found.files.length,
          batches: batches.length,
          refused: found.refused.length,
          removed: plan.removed.length,
        },
        'ingest scan done',
      );
      return { files: found.files.length, batches: batches.length };
    },
    'ingest.batch': async (job) => {
      const { ingestId, batchNo, files } = job.data;
      if (!Array.isArray(files))
        throw new UnrecoverableError(`ingest.batch ${job.id}: malformed payload (files: {path, assetId}[] expected)`);
      const outcome = await ingestBatch(files, deps.ctx).catch((err: unknown) => {
        // A precondition (a refused fingerprint, a missing embedder) holds on every retry too.
        throw isAppError(err, 'FAILED_PRECONDITION') ? new UnrecoverableError(err.message) : err;
      });
      for (const k of ['added', 'changed', 'moved', 'unchanged'] as const)
        deps.metrics?.ingestFiles.inc({ outcome: k }, outcome[k]);
      deps.metrics?.ingestFiles.inc({ outcome: 'failed' }, outcome.failed.length);
      await deps.progress.batchDone(ingestId, batchNo, outcome);
      const summary = { ...outcome, failed: outcome.failed.length };
      await job.updateProgress(summary);
      return summary;
    },
  };
}

/** Starts the in-process BullMQ worker of the `ingest` queue; a batch that exhausts its retries marks the run's last error. */
export function startIngestWorker(
  deps: Parameters<typeof ingestHandlers>[0] & {
    connection: QueueContext['connection'];
    prefix: string;
    concurrency: number;
  },
): Worker {
  const handlers = ingestHandlers(deps);
  // Jobs run in the correlation context of the request that started the ingest (logs and embedder calls).
  const traced: CatalogueHandlers<'ingest'> = {
    'ingest.scan': (job, token, signal) =>
      withCorrelationId(job.data.correlationId, () => handlers['ingest.scan'](job, token, signal)),
    'ingest.batch': (job, token, signal) =>
      withCorrelationId(job.data.correlationId, () => handlers['ingest.batch'](job, token, signal)),
  };
  const worker = createCatalogueWorker('ingest', traced, {
    connection: deps.connection,
    prefix: deps.prefix,
    workerOptions: { concurrency: deps.concurrency },
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
    deps.logger.warn({ job: job.id, attempts: job.attemptsMade, exhausted, err: err.message }, 'ingest job failed');
    const ingestId = (job.data as { ingestId?: string }).ingestId;
    if (exhausted && ingestId)
      void deps.progress.setState(ingestId, 'failed', `${job.name} ${job.id}: ${err.message}`).catch(() => undefined);
  });
  worker.on('error', (err) => deps.logger.warn({ err: err.message }, 'ingest worker error'));
  return worker;
}
