// Integration: the real reembed-worker process (tsx) against the real Redis at REDIS_URL and the
// real embedded store in a temp DATA_DIR; no embedder is needed for these start/stop checks.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteKeys,
  freePort,
  httpGet,
  startTsProcess,
  testEnv,
  testRedis,
  uniqueName,
  waitFor,
  type TestProcess,
} from '@image-search/testing';

describe('reembed-worker process', () => {
  const procs: TestProcess[] = [];
  const prefix = uniqueName('worker-main');
  const redis = testRedis();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reembed-main-'));
  });
  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await deleteKeys(redis, prefix);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });
  const start = (env: Record<string, string>) => {
    const p = startTsProcess('apps/reembed-worker/src/main.ts', {
      REDIS_URL: testEnv.redisUrl,
      QUEUE_PREFIX: prefix,
      DATA_DIR: join(dir, 'data'),
      SIGLIP_EMBEDDER_URL: '127.0.0.1:1',
      QDRANT_URL: '',
      ...env,
    });
    procs.push(p);
    return p;
  };

  it('is ready once Redis answers, serves Prometheus metrics, and stops with exit 0 on SIGTERM', async () => {
    const port = await freePort();
    const proc = start({ WORKER_HEALTH_PORT: String(port), ASSET_ROOTS: dir });
    await waitFor('worker ready', async () => (await httpGet(`http://127.0.0.1:${port}/ready`)).status === 200, 30_000);
    const metrics = String((await httpGet(`http://127.0.0.1:${port}/metrics`)).body);
    expect(metrics).toContain('reembed_queue_depth{state="waiting"} 0');
    expect(metrics).toContain('# TYPE reembed_items_failed_total counter');
    expect(metrics).toContain('# TYPE reembed_batch_duration_seconds histogram');
    expect(await proc.stop('SIGTERM')).toBe(0);
    expect(proc.output()).toContain('shutdown complete');
  });

  it('refuses to start without usable ASSET_ROOTS, naming the variable', async () => {
    const proc = start({ WORKER_HEALTH_PORT: '0', ASSET_ROOTS: join(dir, 'does-not-exist') });
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain('no usable ASSET_ROOTS');
  });

  it('refuses bad settings with a message naming each variable', async () => {
    const proc = start({
      WORKER_HEALTH_PORT: '0',
      ASSET_ROOTS: dir,
      REEMBED_CONCURRENCY: '0',
      REEMBED_RATE_PER_S: 'fast',
    });
    expect(await proc.exited).not.toBe(0);
    expect(proc.output()).toMatch(/REEMBED_CONCURRENCY: expected an integer between 1 and 64/);
    expect(proc.output()).toMatch(/REEMBED_RATE_PER_S: expected a number/);
  });
});
