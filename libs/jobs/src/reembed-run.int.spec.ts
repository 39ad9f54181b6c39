// Integration: the run state machine, control, planner and verification on the real Redis at
// REDIS_URL (unique prefix) and the real embedded store (LanceDB) in a temp folder. No worker runs;
// the test performs the worker's steps through the same functions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, isAppError } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import { createVectorStore, type VectorStore } from '@image-search/vector-store';
import { deleteKeys, testRedis, uniqueName } from '@image-search/testing';
import { ReembedControl, reembedJobIds, runReembedPlan, vectorProblem, verifyReembedding } from './index.js';

const ids = Array.from({ length: 95 }, (_, i) => (i * 7919).toString(16).padStart(32, '0'));
const unit = (i: number, dim: number) => Array.from({ length: dim }, (_, j) => (j === i % dim ? 1 : 0));

describe('re-embedding runs (real Redis and store)', () => {
  const redis = testRedis();
  const prefixes: string[] = [];
  let dir: string;
  let store: VectorStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jobs-run-'));
    store = await createVectorStore({ dataDir: dir, logger: createLogger('test', 'warn') });
    await store.ensureCollection(collectionSchema('clip', { name: 'clip', vectorSize: 8 }));
    await store.ensureCollection(collectionSchema('siglip', { name: 'siglip', vectorSize: 4 }));
    await store.upsert(
      'clip',
      ids.map((id, i) => ({ assetId: id, vector: unit(i, 8), payload: { path: `/p/${i}.jpg` } })),
    );
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const newControl = () => {
    const prefix = uniqueName('jobs-run');
    prefixes.push(prefix);
    return new ReembedControl({ redis, prefix, store, sourceCollection: 'clip', targetCollection: 'siglip' });
  };

  it('plans deterministic batches once: re-running the planner or starting again adds nothing', async () => {
    const control = newControl();
    const { status } = await control.start({ batchSize: 10 });
    expect(status).toMatchObject({ state: 'planning', total: ids.length });
    expect((await control.start({ batchSize: 10 })).started).toBe(false);
    const deps = { runs: control.runs, queue: control.queue, store, source: 'clip', target: 'siglip', pageBatches: 3 };
    const payload = { runId: status.run_id!, batchSize: 10, onlyMissing: false };
    expect(await runReembedPlan(payload, deps)).toMatchObject({ scanned: 95, batches: 10 });
    expect(await runReembedPlan(payload, deps)).toMatchObject({ stopped: 'already planned' });
    const jobs = await control.queue.queue.getJobs(['waiting', 'paused', 'prioritized']);
    expect(jobs.filter((j) => j.name === 'reembed.batch')).toHaveLength(10);
    expect(new Set(jobs.map((j) => j.id))).toContain(reembedJobIds.batch(status.run_id!, 9));
    expect(
      jobs.flatMap((j) => (j.name === 'reembed.batch' ? (j.data as { assetIds: string[] }).assetIds : [])).sort(),
    ).toEqual([...ids].sort());
    const s = await control.status();
    expect(s).toMatchObject({ state: 'running', total: 95, batches_total: 10, planning_done: true });
    await control.close();
  });

  it('counts a batch processed twice only once and moves to verifying exactly once', async () => {
    const control = newControl();
    const { status } = await control.start({ batchSize: 50 });
    const id = status.run_id!;
    await runReembedPlan(
      { runId: id, batchSize: 50, onlyMissing: false },
      { runs: control.runs, queue: control.queue, store, source: 'clip', target: 'siglip' },
    );
    expect(await control.runs.finalizeBatch(id, 0, { done: 48, skipped: 0, batchFailed: false, succeeded: [] })).toBe(
      'counted',
    );
    expect(await control.runs.finalizeBatch(id, 0, { done: 48, skipped: 0, batchFailed: false, succeeded: [] })).toBe(
      'duplicate',
    );
    await control.runs.recordFailures(id, [{ asset_id: ids[0]!, reason: 'NOT_AN_IMAGE', message: 'text file' }]);
    expect(await control.runs.finalizeBatch(id, 1, { done: 44, skipped: 0, batchFailed: false, succeeded: [] })).toBe(
      'all-finished',
    );
    expect(await control.runs.finalizeBatch(id, 1, { done: 44, skipped: 0, batchFailed: false, succeeded: [] })).toBe(
      'duplicate',
    );
    const s = await control.status();
    expect(s).toMatchObject({ state: 'verifying', done: 92, failed: 1, batches_done: 2 });
    expect(s.failed_sample[0]).toMatchObject({ asset_id: ids[0], reason: 'NOT_AN_IMAGE' });
    expect(s.rate_per_s).toBeGreaterThan(0);
    await control.close();
  });

  it('with only-missing, plans only ids the target lacks', async () => {
    await store.upsert(
      'siglip',
      ids.slice(0, 90).map((id, i) => ({ assetId: id, vector: unit(i, 4), payload: { path: `/p/${i}.jpg` } })),
    );
    const control = newControl();
    const { status } = await control.start({ batchSize: 2, onlyMissing: true });
    const res = await runReembedPlan(
      { runId: status.run_id!, batchSize: 2, onlyMissing: true },
      { runs: control.runs, queue: control.queue, store, source: 'clip', target: 'siglip' },
    );
    expect(res).toMatchObject({ scanned: 95, skipped: 90, batches: 3 });
    expect((await control.status()).skipped).toBe(90);
    await control.close();
  });

  it('refuses actions in the wrong state with a message naming the state', async () => {
    const control = newControl();
    await expect(control.resume()).rejects.toThrow(/no re-embedding run exists yet/);
    await control.start({ batchSize: 10 });
    const err = await control.retryFailed().catch((e: unknown) => e);
    expect(isAppError(err, 'FAILED_PRECONDITION')).toBe(true);
    expect((err as Error).message).toMatch(/cannot retry-failed: run \w+ is planning/);
    await expect(control.start({ batchSize: 0 })).rejects.toThrow(/batch_size must be an integer from 1 to 10000/);
    await control.cancel();
    expect((await control.status()).state).toBe('cancelled');
    expect(await control.queue.queue.getWaitingCount()).toBe(0);
    await control.close();
  });

  it('verification lists missing and extra ids and which gaps are recorded failures', async () => {
    // siglip holds ids[0..89]; add one id CLIP lacks.
    await store.upsert('siglip', [{ assetId: 'f'.repeat(32), vector: unit(0, 4), payload: { path: '/gone.jpg' } }]);
    const report = await verifyReembedding(store, {
      source: 'clip',
      target: 'siglip',
      dim: 4,
      vectorSample: 0,
      failedIds: new Set([ids[94]!]),
    });
    expect(report.passed).toBe(false);
    expect(report).toMatchObject({
      source_count: 95,
      target_count: 91,
      counts_equal: false,
      missing: { count: 5 },
      extra: { count: 1, sample: ['f'.repeat(32)] },
      missing_recorded_failures: 1,
    });
    expect(report.vectors).toMatchObject({ checked: 91, bad: 0 });
    expect(report.problems.join('\n')).toMatch(
      /5 id\(s\) of clip missing from siglip \(1 of them recorded as failed items/,
    );
    await store.deleteIds('siglip', ['f'.repeat(32)]);
    await store.upsert(
      'siglip',
      ids.slice(90).map((id, i) => ({ assetId: id, vector: unit(i, 4), payload: {} })),
    );
    const ok = await verifyReembedding(store, { source: 'clip', target: 'siglip', dim: 4, vectorSample: 10 });
    expect(ok.passed).toBe(true);
    expect(ok.vectors.checked).toBeGreaterThanOrEqual(10);
  });

  it('verification of an empty target lists every source id as missing', async () => {
    await store.ensureCollection(collectionSchema('siglip', { name: 'empty', vectorSize: 4 }));
    const report = await verifyReembedding(store, {
      source: 'clip',
      target: 'empty',
      dim: 4,
      vectorSample: 0,
      sampleLimit: 3,
    });
    expect(report).toMatchObject({
      passed: false,
      target_count: 0,
      missing: { count: 95 },
      extra: { count: 0 },
      vectors: { checked: 0 },
    });
    expect(report.missing.sample).toHaveLength(3);
  });

  it('vectorProblem names wrong dimension, non-finite values and non-unit norm', () => {
    expect(vectorProblem(new Float32Array([1, 0, 0, 0]), 4)).toBeUndefined();
    expect(vectorProblem(new Float32Array([1, 0]), 4)).toBe('dimension 2, expected 4');
    expect(vectorProblem(new Float32Array([NaN, 0, 0, 0]), 4)).toBe('non-finite value');
    expect(vectorProblem(new Float32Array([2, 0, 0, 0]), 4)).toMatch(/norm 2\.00000/);
    expect(vectorProblem(undefined, 4)).toBe('no vector stored');
  });
});
