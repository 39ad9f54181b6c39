import { performance } from 'node:perf_hooks';
import { UnrecoverableError, WaitingError } from 'bullmq';
import { isAppError, type Logger } from '@image-search/service-kit';
import type { EmbedderApi } from '@image-search/embedder-client';
import type { FingerprintGuard, VectorStore, UpsertPoint, StoredPoint } from '@image-search/vector-store';
import {
  enqueueVerify,
  type CatalogueJob,
  type CatalogueQueue,
  type FailedItem,
  type ReembedRunStore,
} from '@image-search/jobs';
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { CONTENT_HASH_KEY, contentHash, type AssetCatalogue, type CatalogueEntry } from '@image-search/asset-catalogue';
import { readAsset, type PreviewSource, type PreviewWanted } from './asset-reader.js';
import type { EmbedPacer } from './embed-pacer.js';
import type { EmbedderLimits } from './embedder-limits.js';
import type { WorkerMetrics } from './metrics.js';

/** What a batch job needs (wired by main.ts). */
export interface BatchDeps {
  runs: ReembedRunStore;
  queue: CatalogueQueue<'reembed'>;
  store: VectorStore;
  embedder: EmbedderApi;
  pacer: EmbedPacer;
  metrics: WorkerMetrics;
  logger: Logger;
  source: string;
  target: string;
  roots: readonly string[];
  maxImageBytes: number;
  readConcurrency: number;
  embedDeadlineMs: number;
  /** The embedder's limits and fingerprint (Info, cached by the caller). */
  limits: () => Promise<EmbedderLimits>;
  /** The registered model the target collection belongs to (its id and pinned fingerprint). */
  targetModel: { id: string; fingerprint?: string | undefined };
  /** Refuses to write vectors whose embedder's fingerprint differs from the target collection's. */
  guard: FingerprintGuard;
  /** Aborts when the worker shuts down: the batch goes back to the queue at its next chunk. */
  stopping: AbortSignal;
  /** Which assets exist: an asset the source model has no vector for is re-embedded from its catalogue entry. */
  catalogue?: AssetCatalogue | undefined;
  /** The gateway's previews: an unchanged file is embedded from its preview instead of decoding the original. */
  previews?: PreviewSource | undefined;
}

/** What a finished batch reports (the job's return value; the benchmark reads the timings). */
export interface BatchResult {
  batchNo: number;
  embedded: number;
  failed: number;
  skipped: number;
  /** Of `embedded`, how many came from a preview instead of the original file. */
  fromPreviews: number;
  outcome: 'counted' | 'duplicate' | 'all-finished' | 'cancelled' | 'unknown-run';
  ms: { total: number; embed: number; readFiles: number; store: number; redis: number };
}

type BatchJob = CatalogueJob<'reembed', 'reembed.batch'>;

/**
 * Re-embeds one batch: reads each asset's payload from the source collection (or the catalogue) and its image from
 * disk, embeds the images in chunks of the embedder's max batch, upserts the vectors with the
 * same ids and payload into the target collection. Items that can never succeed are recorded
 * in the run's failed set and the batch goes on; whole-batch errors are thrown and retried.
 */
export async function processReembedBatch(
  job: BatchJob,
  token: string | undefined,
  deps: BatchDeps,
): Promise<BatchResult> {
  const t0 = performance.now();
  const ms = { total: 0, embed: 0, readFiles: 0, store: 0, redis: 0 };
  const timed = async <T>(part: keyof typeof ms, fn: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    try {
      return await fn();
    } finally {
      ms[part] += performance.now() - s;
    }
  };
  const { runId, batchNo, assetIds } = validatePayload(job.data);
  const state = await timed('redis', () => deps.runs.state(runId));
  if (state === null)
    throw new UnrecoverableError(`re-embedding run ${runId} does not exist (Redis was flushed?); start a new run`);
  let fromPreviews = 0;
  const result = (outcome: BatchResult['outcome'], embedded = 0, failed = 0, skipped = 0): BatchResult => ({
    batchNo,
    embedded,
    failed,
    skipped,
    fromPreviews,
    outcome,
    ms: { ...ms, total: performance.now() - t0 },
  });
  if (state === 'cancelled') return result('cancelled');
  await timed('redis', () => deps.runs.noteBatchStart(runId, batchNo));

  const [sourcePoints, entries] = await timed('store', () =>
    Promise.all([deps.store.retrieve(deps.source, assetIds), deps.catalogue?.get(assetIds) ?? []]),
  );
  const points = batchPoints(assetIds, sourcePoints, entries);
  const byId = new Map(sourcePoints.map((p) => [p.assetId, p]));
  // Deleted (from the catalogue and the source) since planning: nothing to re-embed.
  const skipped = assetIds.length - points.length;
  const limits = await deps.limits();
  // Before any file is read or embedded: a wrong model would only produce vectors we must refuse.
  let tags: { model_id: string; fingerprint: string };
  try {
    tags = await deps.guard.tags({
      modelId: deps.targetModel.id,
      collection: deps.target,
      fingerprint: limits.fingerprint,
      pinned: deps.targetModel.fingerprint,
    });
  } catch (err) {
    if (isAppError(err, 'FAILED_PRECONDITION')) throw new UnrecoverableError(err.message);
    throw err;
  }
  const maxBytes = Math.min(deps.maxImageBytes, limits.maxImageBytes > 0 ? limits.maxImageBytes : Infinity);
  const failures: FailedItem[] = [];
  const readable: { point: StoredPoint; data: Buffer; hash?: string }[] = [];
  const catalogueHash = new Map(entries.map((e) => [e.assetId, e.contentHash]));
  const reads = await timed('readFiles', () =>
    mapLimit(points, deps.readConcurrency, (p) =>
      readAsset(p.payload.path, deps.roots, maxBytes, previewWanted(deps.previews, p, catalogueHash.get(p.assetId))),
    ),
  );
  reads.forEach((r, i) => {
    const point = points[i]!;
    if (r.ok) readable.push({ point, data: r.data, hash: r.preview?.contentHash });
    else failures.push({ asset_id: point.assetId, reason: r.reason, message: r.message, batch: batchNo });
  });

  const upserts: UpsertPoint[] = [];
  const chunkSize = Math.max(1, limits.maxBatchSize);
  for (let i = 0; i < readable.length; i += chunkSize) {
    if (deps.stopping.aborted) return returnToQueue(job, token, deps, batchNo);
    if (i > 0 && (await timed('redis', () => deps.runs.state(runId))) === 'cancelled') return result('cancelled');
    const chunk = readable.slice(i, i + chunkSize);
    const results = await timed('embed', () =>
      deps.pacer.run(
        chunk.length,
        () =>
          deps.embedder.embedImages(
            chunk.map((c) => ({ data: c.data, id: c.point.assetId })),
            { deadlineMs: deps.embedDeadlineMs },
          ),
        deps.stopping,
      ),
    );
    results.forEach((r, j) => {
      const { point, data, hash } = chunk[j]!;
      // The source's payload, re-tagged with the target model and the bytes it embedded (the source
      // point carries its own model's tags, and the file may have changed since).
      if (r.ok) {
        upserts.push({
          assetId: point.assetId,
          vector: r.vector,
          payload: { ...point.payload, ...tags, [CONTENT_HASH_KEY]: hash ?? contentHash(data) },
        });
        if (hash) fromPreviews++;
      } else failures.push({ asset_id: point.assetId, reason: r.reason, message: r.message, batch: batchNo });
    });
    await job.updateProgress({ embedded: upserts.length, failed: failures.length, of: assetIds.length });
  }
  let vanished: string[] = [];
  if (upserts.length > 0) {
    await timed('store', () => deps.store.upsert(deps.target, upserts));
    vanished = await timed('store', () => settleConcurrentChanges(deps, byId, upserts, batchNo));
  }
  const written = upserts.filter((u) => !vanished.includes(u.assetId));
  await timed('redis', () => deps.runs.recordFailures(runId, failures));
  const outcome = await timed('redis', () =>
    deps.runs.finalizeBatch(runId, batchNo, {
      done: written.length,
      skipped: skipped + vanished.length,
      batchFailed: false,
      succeeded: written.map((u) => u.assetId),
    }),
  );
  if (outcome === 'all-finished')
    await timed('redis', () => enqueueVerify(deps.runs, deps.queue, runId, job.data.correlationId));
  if (outcome !== 'duplicate') {
    deps.metrics.itemsProcessed.inc({ result: 'embedded' }, written.length);
    if (skipped + vanished.length > 0)
      deps.metrics.itemsProcessed.inc({ result: 'skipped' }, skipped + vanished.length);
    for (const f of failures) deps.metrics.itemsFailed.inc({ reason: f.reason });
  }
  const res = result(outcome, written.length, failures.length, skipped + vanished.length);
  deps.metrics.batchSeconds.observe({ outcome: 'ok' }, res.ms.total / 1000);
  deps.metrics.batchOverheadSeconds.observe((res.ms.total - res.ms.embed) / 1000);
  deps.logger.debug(
    { run_id: runId, batch: batchNo, embedded: written.length, failed: failures.length, skipped, ms: res.ms },
    'batch done',
  );
  return res;
}

/**
 * A preview may stand in for the file only where the source point and the catalogue agree on the
 * content it was made from and the point recorded the file's size and mtime (readAsset checks those).
 */
function previewWanted(
  source: PreviewSource | undefined,
  p: StoredPoint,
  catalogued: string | undefined,
): PreviewWanted | undefined {
  const hash = p.payload[CONTENT_HASH_KEY];
  const size = p.payload['file_size'];
  const mtimeMs = p.payload['file_mtime_ms'];
  if (!source || typeof hash !== 'string' || typeof size !== 'number' || typeof mtimeMs !== 'number') return undefined;
  if (catalogued !== undefined && catalogued !== hash) return undefined;
  return { source, assetId: p.assetId, contentHash: hash, size, mtimeMs };
}

/** What identifies the version of an asset a source point describes (file, content, path). */
const versionOf = (p: StoredPoint) =>
  JSON.stringify([p.payload[CONTENT_HASH_KEY] ?? null, p.payload.path ?? null, p.payload['file_mtime_ms'] ?? null]);

/**
 * The batch read the source before embedding; an asset deleted, edited or moved meanwhile must not be
 * resurrected or reverted by this batch's write. Deleters remove the source point before the target's
 * and ingest writes the source before the target, so re-reading the source after our write sees every
 * change that our write could have overwritten: vanished assets are deleted from the target again
 * (returned: they count as skipped); for assets whose source changed, a target point still holding what
 * we wrote is removed and the batch is retried, so the retry embeds the current file.
 */
async function settleConcurrentChanges(
  deps: BatchDeps,
  before: Map<string, StoredPoint>,
  written: UpsertPoint[],
  batchNo: number,
): Promise<string[]> {
  const ids = written.map((u) => u.assetId);
  const now = new Map((await deps.store.retrieve(deps.source, ids)).map((p) => [p.assetId, p]));
  // Assets the source model has no vector for came from the catalogue: gone from it means deleted.
  const fromCatalogue = ids.filter((id) => !before.has(id));
  const catalogued = new Set(
    fromCatalogue.length && deps.catalogue ? (await deps.catalogue.get(fromCatalogue)).map((e) => e.assetId) : [],
  );
  const vanished = ids.filter((id) => (before.has(id) ? !now.has(id) : !catalogued.has(id)));
  if (vanished.length) {
    await deps.store.deleteIds(deps.target, vanished);
    deps.logger.info({ batch: batchNo, assets: vanished.length }, 'assets deleted during the batch: not resurrected');
  }
  const changed = ids.filter(
    (id) => before.has(id) && now.has(id) && versionOf(now.get(id)!) !== versionOf(before.get(id)!),
  );
  if (changed.length === 0) return vanished;
  const ours = new Map(written.map((u) => [u.assetId, u]));
  const stale = (await deps.store.retrieve(deps.target, changed))
    .filter((p) => {
      const mine = ours.get(p.assetId)!.payload;
      return (
        p.payload[CONTENT_HASH_KEY] === mine[CONTENT_HASH_KEY] &&
        p.payload.path === mine.path &&
        p.payload['file_mtime_ms'] === mine['file_mtime_ms']
      );
    })
    .map((p) => p.assetId);
  if (stale.length === 0) return vanished;
  await deps.store.deleteIds(deps.target, stale);
  throw new Error(
    `${stale.length} asset(s) changed on disk while batch ${batchNo} embedded them; their stale vectors were removed and the batch is retried`,
  );
}

/**
 * After a batch failed for good (retries exhausted, or stalled twice): its items that did not
 * reach the target are recorded as BATCH_FAILED (keeping any more specific reason) so that
 * `retry-failed` can redo them, and the batch counts as finished so the run goes on.
 */
export async function finalizeFailedBatch(
  job: BatchJob,
  err: Error,
  deps: Pick<BatchDeps, 'runs' | 'queue' | 'store' | 'target' | 'logger' | 'metrics'>,
): Promise<void> {
  const { runId, batchNo, assetIds } = job.data;
  if (!Array.isArray(assetIds)) return;
  const present = new Set(
    (await deps.store.retrieve(deps.target, assetIds).catch(() => [] as StoredPoint[])).map((p) => p.assetId),
  );
  const missing = assetIds.filter((id) => !present.has(id));
  const message = `batch ${batchNo} failed after ${job.attemptsMade} attempt(s): ${err.message}`;
  await deps.runs.recordFailures(
    runId,
    missing.map((id) => ({ asset_id: id, reason: 'BATCH_FAILED', message, batch: batchNo })),
    { keepExisting: true },
  );
  await deps.runs.setError(runId, message);
  const outcome = await deps.runs.finalizeBatch(runId, batchNo, {
    done: present.size,
    skipped: 0,
    batchFailed: true,
    succeeded: [...present],
  });
  if (outcome !== 'duplicate') deps.metrics.itemsFailed.inc({ reason: 'BATCH_FAILED' }, missing.length);
  deps.logger.error(
    { run_id: runId, batch: batchNo, err: err.message, unembedded: missing.length },
    'batch failed for good; its items are in the failed set (retry-failed redoes them)',
  );
  if (outcome === 'all-finished') await enqueueVerify(deps.runs, deps.queue, runId);
}

// Shutdown: give the batch back to the queue untouched (no attempt used) instead of holding it.
async function returnToQueue(
  job: BatchJob,
  token: string | undefined,
  deps: BatchDeps,
  batchNo: number,
): Promise<never> {
  deps.logger.info({ batch: batchNo, job_id: job.id }, 'shutting down: returning the batch to the queue');
  if (token) await job.moveToWait(token);
  throw new WaitingError();
}

function validatePayload(data: unknown): { runId: string; batchNo: number; assetIds: string[] } {
  const d = data as { runId?: unknown; batchNo?: unknown; assetIds?: unknown };
  if (
    typeof d?.runId !== 'string' ||
    !Number.isInteger(d.batchNo) ||
    !Array.isArray(d.assetIds) ||
    !d.assetIds.every((id) => typeof id === 'string')
  ) {
    throw new UnrecoverableError(
      `malformed reembed.batch payload (needs runId: string, batchNo: integer, assetIds: string[]): ${JSON.stringify(data).slice(0, 200)}`,
    );
  }
  return { runId: d.runId, batchNo: d.batchNo as number, assetIds: d.assetIds as string[] };
}

/**
 * The batch's assets with the payload each vector gets: the source vector's payload (the catalogue's
 * path when it has the asset, since it is the source of truth), or, for an asset the source model has
 * no vector for (it failed there, or was catalogued since), a payload made from the catalogue entry.
 */
export function batchPoints(assetIds: string[], source: StoredPoint[], entries: CatalogueEntry[]): StoredPoint[] {
  const bySource = new Map(source.map((p) => [p.assetId, p]));
  const byCatalogue = new Map(entries.map((e) => [e.assetId, e]));
  return assetIds.flatMap((id): StoredPoint[] => {
    const p = bySource.get(id);
    const e = byCatalogue.get(id);
    if (p) return [e && e.path !== p.payload.path ? { ...p, payload: { ...p.payload, path: e.path } } : p];
    if (!e) return [];
    return [
      {
        assetId: id,
        payload: {
          asset_id: id,
          path: e.path,
          path_hash: createHash('sha256').update(e.path).digest('hex'),
          category: basename(dirname(e.path)),
          created_at: e.updatedAt,
        },
      },
    ];
  });
}

/** Maps with at most `limit` calls in flight, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return out;
}
