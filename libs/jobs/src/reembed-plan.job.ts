import { UnrecoverableError } from 'bullmq';
import type { VectorStore } from '@image-search/vector-store';
import type { ReembedPlanPayload, ReembedVerifyPayload } from './catalogue.js';
import type { CatalogueQueue } from './queue.factory.js';
import type { ReembedRunStore } from './reembed-run.store.js';

/** Deterministic job ids: the same batch of the same run is only ever enqueued once. */
export const reembedJobIds = {
  plan: (runId: string, attempt = 0) => (attempt === 0 ? `plan-${runId}` : `plan-${runId}-r${attempt}`),
  batch: (runId: string, batchNo: number) => `batch-${runId}-${batchNo}`,
  verify: (runId: string, seq: number) => `verify-${runId}-${seq}`,
};

/** The part of the asset catalogue the planner reads (structurally @image-search/asset-catalogue's port). */
export interface PlanCatalogue {
  scroll(opts: { limit: number; cursor?: string | undefined }): Promise<{
    entries: { assetId: string; contentHash: string }[];
    next: string | undefined;
  }>;
}

/** What the planner and the verify trigger need. */
export interface ReembedPlanDeps {
  runs: ReembedRunStore;
  queue: CatalogueQueue<'reembed'>;
  store: VectorStore;
  source: string;
  target: string;
  /**
   * Which assets exist: when given, the planner scrolls the catalogue instead of the source collection,
   * so an asset the source model failed on is re-embedded too, and `onlyMissing` also redoes target
   * vectors embedded from an older version of the file (content hash differs).
   */
  catalogue?: PlanCatalogue | undefined;
  /** Ids scrolled per page (a multiple of the batch size keeps batches full). */
  pageBatches?: number;
  onProgress?: (scanned: number) => Promise<void> | void;
}

// Marks a checkpoint whose scroll reached the end (a restart then only finishes planning).
const END = '$end';

/** Enqueues the verify job of a run (the caller moved it to `verifying`). */
export async function enqueueVerify(
  runs: ReembedRunStore,
  queue: CatalogueQueue<'reembed'>,
  runId: string,
  correlationId?: string,
): Promise<void> {
  const seq = await runs.nextVerifySeq(runId);
  const data: ReembedVerifyPayload = { runId, ...(correlationId ? { correlationId } : {}) };
  await queue.add('reembed.verify', data, { jobId: reembedJobIds.verify(runId, seq), attempts: 5 });
}

/**
 * The planner: scrolls the catalogue (or, without one, the source collection) page by page and enqueues batch jobs with
 * deterministic ids, saving a checkpoint after each page so a planner that was killed resumes
 * where it stopped (re-enqueueing at most one page, whose job ids already exist).
 */
export async function runReembedPlan(
  payload: ReembedPlanPayload,
  deps: ReembedPlanDeps,
): Promise<{ scanned: number; batches: number; skipped: number; stopped?: string }> {
  const run = await deps.runs.get(payload.runId);
  if (!run)
    throw new UnrecoverableError(
      `re-embedding run ${payload.runId} does not exist (Redis was flushed?); start a new run`,
    );
  if (run.planDone) return { scanned: run.total, batches: run.batchesTotal, skipped: 0, stopped: 'already planned' };
  if (!['planning', 'paused'].includes(run.state))
    return { scanned: 0, batches: 0, skipped: 0, stopped: `run is ${run.state}` };
  const batchSize = payload.batchSize;
  const pageSize = batchSize * (deps.pageBatches ?? 10);
  let { cursor, batchNo, scanned, skipped } = await deps.runs.planCheckpoint(payload.runId);
  while (cursor !== END) {
    const state = (await deps.runs.get(payload.runId))?.state;
    if (state === 'cancelled' || state === 'failed')
      return { scanned, batches: batchNo, skipped, stopped: `run is ${state}` };
    const page = await scrollPage(deps, pageSize, cursor);
    let ids = page.assetIds;
    if (payload.onlyMissing && ids.length > 0) {
      const current = new Map(
        (await deps.store.retrieve(deps.target, ids)).map((p) => [p.assetId, p.payload['content_hash']] as const),
      );
      ids = ids.filter((id) => {
        if (!current.has(id)) return true;
        const want = page.hashes?.get(id);
        return want !== undefined && current.get(id) !== want;
      });
    }
    skipped += page.assetIds.length - ids.length;
    const jobs = [];
    for (let i = 0; i < ids.length; i += batchSize) {
      const no = batchNo++;
      jobs.push({
        name: 'reembed.batch' as const,
        data: {
          runId: payload.runId,
          batchNo: no,
          assetIds: ids.slice(i, i + batchSize),
          ...(payload.correlationId ? { correlationId: payload.correlationId } : {}),
        },
        opts: { jobId: reembedJobIds.batch(payload.runId, no) },
      });
    }
    if (jobs.length > 0) await deps.queue.addBulk(jobs);
    scanned += page.assetIds.length;
    cursor = page.next ?? END;
    await deps.runs.savePlanCheckpoint(payload.runId, { cursor, batchNo, scanned, skipped });
    await deps.onProgress?.(scanned);
  }
  if (await deps.runs.finishPlanning(payload.runId, scanned))
    await enqueueVerify(deps.runs, deps.queue, payload.runId, payload.correlationId);
  return { scanned, batches: batchNo, skipped };
}

/** One page of the ids to re-embed: the catalogue's (with their content hashes) or the source collection's. */
async function scrollPage(
  deps: ReembedPlanDeps,
  limit: number,
  cursor: string | undefined,
): Promise<{ assetIds: string[]; next: string | undefined; hashes?: Map<string, string> }> {
  if (!deps.catalogue) return deps.store.scrollIds(deps.source, { limit, cursor });
  const page = await deps.catalogue.scroll({ limit, cursor });
  return {
    assetIds: page.entries.map((e) => e.assetId),
    next: page.next,
    hashes: new Map(page.entries.map((e) => [e.assetId, e.contentHash])),
  };
}
