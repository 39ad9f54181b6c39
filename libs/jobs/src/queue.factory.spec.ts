// Integration: real BullMQ queues and workers on the real Redis at REDIS_URL (unique prefix, cleaned up).
import { QueueEvents, type Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '@image-search/service-kit';
import { deleteKeys, testEnv, testRedis, uniqueName, waitFor } from '@image-search/testing';
import { createCatalogueQueue, createCatalogueWorker, missingHandlers, UnrecoverableError } from './index.js';

describe('catalogue queues and workers (real Redis)', () => {
  const redis = testRedis();
  const prefix = uniqueName('jobs-queue');
  const connection = { url: testEnv.redisUrl, maxRetriesPerRequest: null };
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('refuses to create a worker when a job name of its queue has no handler, naming it', () => {
    expect(missingHandlers('reembed', { 'reembed.plan': () => 1 })).toEqual(['reembed.batch', 'reembed.verify']);
    let err: unknown;
    try {
      createCatalogueWorker(
        'reembed',
        // @ts-expect-error the type system already demands every handler; this checks the runtime guard
        { 'reembed.plan': async () => 1, 'reembed.batch': async () => 1 },
        { connection, prefix },
      );
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'INVALID_CONFIG')).toBe(true);
    expect((err as Error).message).toMatch(/no handler for job\(s\): reembed\.verify/);
  });

  it('retries transient errors with jittered backoff, fails unrecoverable input at once, and dedupes job ids', async () => {
    const queue = createCatalogueQueue('ingest', {
      connection,
      prefix,
      defaultJobOptions: { attempts: 4, backoff: { type: 'exp-jitter', delay: 20 } },
    });
    const events = new QueueEvents('ingest', { connection, prefix });
    closers.push(
      () => queue.close(),
      () => events.close(),
    );
    const attempts = new Map<string, number>();
    const worker = createCatalogueWorker(
      'ingest',
      {
        'ingest.scan': async (job) => {
          const n = (attempts.get(job.data.ingestId) ?? 0) + 1;
          attempts.set(job.data.ingestId, n);
          if (job.data.rootPath === '/bad') throw new UnrecoverableError('root path can never be scanned');
          if (n < 3) throw new Error('UNAVAILABLE: try again');
          return n;
        },
        'ingest.batch': async () => 0,
      },
      { connection, prefix, backoff: { baseMs: 20, capMs: 100 } },
    );
    closers.push(() => worker.close());
    const failed: Job[] = [];
    worker.on('failed', (job) => job && job.finishedOn && failed.push(job));
    await queue.add(
      'ingest.scan',
      { ingestId: 'ok', rootPath: '/photos', recursive: true, extensions: ['.jpg'] },
      { jobId: 'scan-ok' },
    );
    await queue.add(
      'ingest.scan',
      { ingestId: 'ok', rootPath: '/photos', recursive: true, extensions: ['.jpg'] },
      { jobId: 'scan-ok' },
    );
    await queue.add(
      'ingest.scan',
      { ingestId: 'bad', rootPath: '/bad', recursive: true, extensions: [] },
      { jobId: 'scan-bad' },
    );
    await waitFor('jobs settled', () => attempts.get('ok') === 3 && failed.length === 1, 20_000, 50);
    expect(await (await queue.queue.getJob('scan-ok'))?.getState()).toBe('completed');
    expect(attempts.get('bad')).toBe(1);
    expect(failed[0]?.failedReason).toMatch(/can never be scanned/);
  });
});
