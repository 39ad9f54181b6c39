import type { Redis } from 'ioredis';
import { AppError } from '@image-search/service-kit';
import type { VectorStore } from '@image-search/vector-store';
import { createCatalogueQueue, DEFAULT_QUEUE_PREFIX, type CatalogueQueue } from './queue.factory.js';
import { ReembedRunStore, type RunRecord } from './reembed-run.store.js';
import { enqueueVerify, reembedJobIds } from './reembed-plan.job.js';
import { ACTIVE_STATES, type ReembedStatus, type RunState } from './reembed.types.js';

/** What a control needs: Redis, the key prefix and (for coverage) the store and collection names. */
export interface ReembedControlOptions {
  redis: Redis;
  prefix?: string;
  sourceCollection: string;
  targetCollection: string;
  /** Used for `coverage` and the expected total; status works without it (coverage null). */
  store?: VectorStore;
  /** How many failed items `status` lists. */
  failedSampleSize?: number;
  /** The registered models of the source and target collections, recorded in each run (workers check them). */
  models?: { from: string; to: string };
  /** When given, read at every call instead of the three above (the serving pair can move on while running). */
  current?: () => { sourceCollection: string; targetCollection: string; models: { from: string; to: string } };
}

/** Options of a run. */
export interface StartOptions {
  batchSize?: number;
  onlyMissing?: boolean;
  correlationId?: string;
}

const MAX_BATCH_SIZE = 10_000;
const RATE_WINDOW_MS = 60_000;
const COUNT_CACHE_MS = 2_000;

/**
 * Starts and steers re-embedding runs, and reports their status. The CLI and the gateway's admin
 * endpoints both use it; all state lives in Redis, so any number of them and of workers agree.
 */
export class ReembedControl {
  readonly runs: ReembedRunStore;
  readonly queue: CatalogueQueue<'reembed'>;
  private counts: { at: number; key: string; source: number | null; target: number | null } | undefined;

  constructor(private readonly given: ReembedControlOptions) {
    const opts = given;
    const prefix = given.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.runs = new ReembedRunStore(opts.redis, prefix);
    this.queue = createCatalogueQueue('reembed', { connection: opts.redis, prefix });
    // Every public operation reports an unreachable Redis as UNAVAILABLE (503 + Retry-After at the edge), not as an internal error.
    for (const name of ['start', 'pause', 'resume', 'cancel', 'verify', 'retryFailed', 'status'] as const) {
      const fn = this[name].bind(this) as (...a: unknown[]) => Promise<unknown>;
      (this as unknown as Record<string, unknown>)[name] = (...a: unknown[]) =>
        fn(...a).catch((err: unknown) => Promise.reject(asUnavailable(err)));
    }
  }

  private get opts(): ReembedControlOptions {
    return this.given.current ? { ...this.given, ...this.given.current() } : this.given;
  }

  /**
   * Starts a run (planner scrolls the source and enqueues batches). While a run is active it is
   * returned instead (`started: false`): starting twice adds nothing.
   */
  async start(options: StartOptions = {}): Promise<{ started: boolean; status: ReembedStatus }> {
    const batchSize = options.batchSize ?? 100;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `batch_size must be an integer from 1 to ${MAX_BATCH_SIZE} (got ${String(options.batchSize)})`,
        { details: { field: 'batch_size' } },
      );
    }
    const onlyMissing = options.onlyMissing ?? false;
    const store = this.opts.store;
    if (store && !(await store.exists(this.opts.sourceCollection))) {
      throw new AppError(
        'FAILED_PRECONDITION',
        `source collection '${this.opts.sourceCollection}' does not exist (CLIP_COLLECTION); nothing to re-embed`,
        { details: { collection: this.opts.sourceCollection } },
      );
    }
    const expectedTotal = store ? await store.count(this.opts.sourceCollection) : 0;
    const { id, created } = await this.runs.create({ batchSize, onlyMissing, expectedTotal, models: this.opts.models });
    if (created) {
      // A queue left paused by an earlier run would hold the new one back.
      await this.queue.queue.resume();
      await this.queue.add(
        'reembed.plan',
        {
          runId: id,
          batchSize,
          onlyMissing,
          ...(options.correlationId ? { correlationId: options.correlationId } : {}),
        },
        { jobId: reembedJobIds.plan(id) },
      );
    }
    return { started: created, status: await this.status() };
  }

  /** Pauses the run: workers finish their current batch and take no new ones. */
  async pause(): Promise<ReembedStatus> {
    const run = await this.requireRun('pause');
    const prev = await this.runs.transition(run.id, ['planning', 'running'], 'paused');
    if (!prev) throw this.wrongState(run, 'pause', ['planning', 'running']);
    await this.queue.queue.pause();
    return this.status();
  }

  /** Resumes a paused run. */
  async resume(): Promise<ReembedStatus> {
    const run = await this.requireRun('resume');
    const prev = await this.runs.transition(run.id, ['paused'], run.planDone ? 'running' : 'planning');
    if (!prev) throw this.wrongState(run, 'resume', ['paused']);
    await this.queue.queue.resume();
    if (await this.runs.maybeFinish(run.id)) await enqueueVerify(this.runs, this.queue, run.id);
    return this.status();
  }

  /** Cancels the run: waiting batches are removed, running ones stop at their next chunk. */
  async cancel(): Promise<ReembedStatus> {
    const run = await this.requireRun('cancel');
    const prev = await this.runs.transition(run.id, ACTIVE_STATES, 'cancelled');
    if (!prev) throw this.wrongState(run, 'cancel', ACTIVE_STATES);
    await this.queue.queue.drain(true);
    await this.queue.queue.resume();
    return this.status();
  }

  /** Verifies the collections (a job on the worker); with no run yet it creates a verification-only run. */
  async verify(): Promise<ReembedStatus> {
    let id = await this.runs.currentId();
    const run = id ? await this.runs.get(id) : null;
    if (!run || !id) {
      const created = await this.runs.create({ batchSize: 0, onlyMissing: false, expectedTotal: 0 });
      id = created.id;
      if (!created.created)
        throw new AppError('FAILED_PRECONDITION', 'a run became active meanwhile; verify after it ends');
      await this.runs.finishPlanning(id, 0);
      // finishPlanning moved planning -> running -> verifying (no batches) and the job follows.
      await enqueueVerify(this.runs, this.queue, id);
      return this.status();
    }
    if (run.state === 'verifying') return this.status();
    const prev = await this.runs.transition(run.id, ['completed', 'failed', 'cancelled'], 'verifying');
    if (!prev) throw this.wrongState(run, 'verify', ['completed', 'failed', 'cancelled']);
    await this.queue.queue.resume();
    await enqueueVerify(this.runs, this.queue, run.id);
    return this.status();
  }

  /** Retries the run's failed items (or finishes an interrupted plan); verification follows. */
  async retryFailed(): Promise<{ retried: number; status: ReembedStatus }> {
    const run = await this.requireRun('retry-failed');
    if (!['completed', 'failed', 'cancelled'].includes(run.state))
      throw this.wrongState(run, 'retry-failed', ['completed', 'failed', 'cancelled']);
    await this.queue.queue.resume();
    if (!run.planDone) {
      if (!(await this.runs.transition(run.id, ['failed', 'cancelled'], 'planning')))
        throw this.wrongState(run, 'retry-failed', ['failed', 'cancelled']);
      await this.runs.setError(run.id, null);
      await this.queue.add(
        'reembed.plan',
        { runId: run.id, batchSize: run.batchSize, onlyMissing: run.onlyMissing },
        { jobId: reembedJobIds.plan(run.id, Date.now()) },
      );
      return { retried: 0, status: await this.status() };
    }
    const failed = await this.runs.allFailed(run.id);
    if (failed.length === 0) return { retried: 0, status: await this.status() };
    const ids = failed.map((f) => f.asset_id);
    const size = Math.max(1, run.batchSize);
    const n = Math.ceil(ids.length / size);
    const first = await this.runs.reserveBatches(run.id, n);
    await this.runs.clearFailures(run.id, ids);
    await this.runs.setError(run.id, null);
    await this.runs.reopen(run.id);
    const jobs = [];
    for (let i = 0; i < n; i++) {
      jobs.push({
        name: 'reembed.batch' as const,
        data: { runId: run.id, batchNo: first + i, assetIds: ids.slice(i * size, (i + 1) * size) },
        opts: { jobId: reembedJobIds.batch(run.id, first + i) },
      });
    }
    await this.queue.addBulk(jobs);
    return { retried: ids.length, status: await this.status() };
  }

  /** The current run's status (state `idle` before the first run). */
  async status(): Promise<ReembedStatus> {
    const id = await this.runs.currentId();
    const run = id ? await this.runs.get(id) : null;
    // Counts are cached briefly, but never across a change of the run (a finished run shows final counts).
    const counts = await this.collectionCounts(
      `${run?.id}:${run?.state}:${run?.done}:${run?.verification?.checked_at}`,
    );
    // 0/0 is not "100% covered": with an empty (or unreachable) CLIP collection coverage is unknown.
    const coverage =
      counts.source === null || counts.target === null || counts.source === 0 ? null : counts.target / counts.source;
    const base = { coverage, source_count: counts.source, target_count: counts.target };
    if (!run) {
      return {
        run_id: null,
        state: 'idle',
        from_model: this.opts.models?.from ?? null,
        to_model: this.opts.models?.to ?? null,
        total: 0,
        done: 0,
        failed: 0,
        skipped: 0,
        ...base,
        rate_per_s: 0,
        eta_s: null,
        started_at: null,
        updated_at: null,
        finished_at: null,
        last_error: null,
        failed_sample: [],
        batch_size: null,
        only_missing: false,
        batches_total: 0,
        batches_done: 0,
        batches_failed: 0,
        planning_done: false,
        verification: null,
      };
    }
    const rate = rateOf(run);
    const remaining = Math.max(0, run.total - run.done - run.failed - run.skipped);
    const live = run.state === 'running' || run.state === 'planning';
    return {
      run_id: run.id,
      state: run.state,
      from_model: run.fromModel,
      to_model: run.toModel,
      total: run.total,
      done: run.done,
      failed: run.failed,
      skipped: run.skipped,
      ...base,
      rate_per_s: Math.round(rate * 100) / 100,
      eta_s: live && rate > 0 ? Math.round(remaining / rate) : run.state === 'completed' ? 0 : null,
      started_at: run.startedAt,
      updated_at: run.updatedAt,
      finished_at: run.finishedAt,
      last_error: run.lastError,
      failed_sample: await this.runs.failedSample(run.id, this.opts.failedSampleSize ?? 10),
      batch_size: run.batchSize,
      only_missing: run.onlyMissing,
      batches_total: run.batchesTotal,
      batches_done: run.batchesFinished,
      batches_failed: run.batchesFailed,
      planning_done: run.planDone,
      verification: run.verification,
    };
  }

  /** Closes the queue handle (the Redis connection belongs to the caller). */
  async close(): Promise<void> {
    await this.queue.close();
  }

  private async requireRun(action: string): Promise<RunRecord> {
    const id = await this.runs.currentId();
    const run = id ? await this.runs.get(id) : null;
    if (!run)
      throw new AppError('FAILED_PRECONDITION', `cannot ${action}: no re-embedding run exists yet (start one first)`, {
        details: { state: 'idle' },
      });
    return run;
  }

  private wrongState(run: RunRecord, action: string, allowed: readonly RunState[]): AppError {
    return new AppError(
      'FAILED_PRECONDITION',
      `cannot ${action}: run ${run.id} is ${run.state} (${action} needs ${allowed.join(' or ')})`,
      { details: { run_id: run.id, state: run.state } },
    );
  }

  private async collectionCounts(key: string): Promise<{ source: number | null; target: number | null }> {
    const store = this.opts.store;
    if (!store) return { source: null, target: null };
    if (this.counts && this.counts.key === key && Date.now() - this.counts.at < COUNT_CACHE_MS) return this.counts;
    const safeCount = async (c: string) => ((await store.exists(c)) ? store.count(c) : 0);
    const [source, target] = await Promise.all([
      safeCount(this.opts.sourceCollection).catch(() => null),
      safeCount(this.opts.targetCollection).catch(() => null),
    ]);
    this.counts = { at: Date.now(), key, source, target };
    return this.counts;
  }
}

const REDIS_DOWN =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable|connect ETIMEDOUT/;

function asUnavailable(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const e = err as Error | undefined;
  if (e && (e.name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(e.message ?? ''))) {
    return new AppError(
      'UNAVAILABLE',
      `Redis is not reachable, so the re-embedding run cannot be read or changed (${e.message}); retry shortly`,
      { cause: err, retryAfterS: 5 },
    );
  }
  return err;
}

/** Starts a full re-embedding run (see ReembedControl.start). */
export function enqueueFullReembedding(
  control: ReembedControl,
  opts: { batchSize: number; onlyMissing?: boolean },
): Promise<{ started: boolean; status: ReembedStatus }> {
  return control.start(opts);
}

// Items per second over the last minute of rate samples; the run's average once it has ended.
function rateOf(run: RunRecord): number {
  const started = run.startedAt ? Date.parse(run.startedAt) : NaN;
  if (run.state === 'completed' || run.state === 'failed' || run.state === 'cancelled' || run.state === 'verifying') {
    const end = run.samples[0]?.[0] ?? (run.finishedAt ? Date.parse(run.finishedAt) : NaN);
    return Number.isFinite(started) && end > started ? run.done / ((end - started) / 1000) : 0;
  }
  if (run.state === 'paused') return 0;
  const newest = run.samples[0];
  if (!newest) return 0;
  const window = run.samples.filter(([t]) => t >= newest[0] - RATE_WINDOW_MS);
  const oldest = window[window.length - 1]!;
  if (oldest[0] < newest[0]) return (newest[1] - oldest[1]) / ((newest[0] - oldest[0]) / 1000);
  return Number.isFinite(started) && newest[0] > started ? newest[1] / ((newest[0] - started) / 1000) : 0;
}
