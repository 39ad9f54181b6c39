// Integration (fault tests): real reembed-worker processes, the real siglip-embedder process (tiny
// SigLIP model, gRPC on loopback), the real Redis (shared one with a unique QUEUE_PREFIX; a PRIVATE
// redis-server on a free port for the restart test) and the real embedded store in a temp DATA_DIR.
// Each test is bounded in time and ends asserting: SigLIP ids == CLIP ids minus recorded failures.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, httpGet, waitFor } from '@image-search/testing';
import {
  makeImageSet,
  minus,
  ReembedWorld,
  seedClip,
  startSiglipEmbedder,
  type EmbedderProc,
  type SeedAsset,
} from './harness.js';

async function expectSigLipEqualsClipMinusFailures(world: ReembedWorld, assets: SeedAsset[]): Promise<void> {
  const acc = await world.idAccounting();
  expect(acc.clip.size).toBe(assets.length);
  expect([...acc.siglip].sort()).toEqual([...minus(acc.clip, acc.failed.keys())].sort());
  // Only the planted broken files failed.
  expect([...acc.failed.keys()].sort()).toEqual(
    assets
      .filter((a) => a.expectFailure)
      .map((a) => a.assetId)
      .sort(),
  );
}

describe('re-embedding under faults (real processes)', () => {
  let embedder: EmbedderProc;
  const worlds: ReembedWorld[] = [];
  beforeAll(async () => {
    embedder = await startSiglipEmbedder();
  });
  afterAll(async () => {
    for (const w of worlds) await w.dispose();
    await embedder?.stop();
  });
  const newWorld = async (images: number, redisUrl?: string) => {
    const world = await new ReembedWorld(redisUrl).init();
    worlds.push(world);
    const set = await makeImageSet(world.dir, images);
    await seedClip(world.store, set.assets);
    return { world, ...set };
  };

  it('pause stops taking batches and resume finishes the run', async () => {
    const { world, root, assets } = await newWorld(160);
    world.startWorker(embedder, root, { REEMBED_RATE_PER_S: '80', REEMBED_CONCURRENCY: '1' });
    await world.control.start({ batchSize: 10 });
    await waitFor('some progress', async () => (await world.control.status()).done >= 20, 60_000, 100);
    expect((await world.control.pause()).state).toBe('paused');
    await new Promise((r) => setTimeout(r, 1000)); // the batch in flight finishes
    const frozen = (await world.control.status()).done;
    await new Promise((r) => setTimeout(r, 1500));
    const still = await world.control.status();
    expect(still.state).toBe('paused');
    expect(still.done).toBe(frozen);
    expect(still.done).toBeLessThan(assets.length - 4);
    expect(still.rate_per_s).toBe(0);
    expect((await world.control.resume()).state).toMatch(/running|planning/);
    const end = await world.waitForState(['completed', 'failed'], 60_000);
    expect(end.done + end.failed).toBe(assets.length);
    await expectSigLipEqualsClipMinusFailures(world, assets);
  });

  it('SIGKILL of a worker mid-batch: another replica picks the batch up; no batch runs more than twice', async () => {
    const { world, root, assets } = await newWorld(200);
    const slow = { REEMBED_RATE_PER_S: '60', REEMBED_CONCURRENCY: '2' };
    // Two replicas, both taking batches (rate-limited, so each is always mid-batch; started together, as a
    // start takes seconds on a loaded machine); the victim is killed and the other replica takes over.
    const victim = world.startWorker(embedder, root, slow);
    const other = world.startWorker(embedder, root, slow);
    await waitFor(
      'both replicas started',
      () => [victim, other].every((w) => w.output().includes('reembed-worker started')),
      90_000,
      100,
    );
    await world.control.start({ batchSize: 20 });
    await waitFor('batches in flight', async () => (await world.control.status()).done >= 40, 60_000, 100);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const end = await world.waitForState(['completed', 'failed'], 90_000);
    expect(end.done + end.failed).toBe(assets.length);
    const starts = await world.control.runs.batchStarts(end.run_id!);
    expect(Object.keys(starts).length).toBe(end.batches_total);
    expect(Math.max(...Object.values(starts))).toBeLessThanOrEqual(2);
    // The victim's batches in flight were recovered by the stalled-job check and run a second time.
    expect(Object.values(starts).filter((n) => n === 2).length).toBeGreaterThanOrEqual(1);
    await expectSigLipEqualsClipMinusFailures(world, assets);
  });

  it('two replicas share the queue; SIGTERM mid-run: one finishes or returns its batch and exits 0, the other completes the run', async () => {
    const { world, root, assets } = await newWorld(120);
    const first = world.startWorker(embedder, root, {
      REEMBED_RATE_PER_S: '40',
      REEMBED_CONCURRENCY: '2',
      SHUTDOWN_TIMEOUT_MS: '6000',
    });
    const second = world.startWorker(embedder, root, { REEMBED_RATE_PER_S: '40', REEMBED_CONCURRENCY: '2' });
    // Both up before the run: a SIGTERM that reaches a worker still starting (seconds at load 27) kills it
    // before its shutdown handler exists (seen: 'SIGTERM' instead of exit 0, the other replica having done the 20).
    await waitFor(
      'both replicas started',
      () => [first, second].every((w) => w.output().includes('reembed-worker started')),
      90_000,
      100,
    );
    await world.control.start({ batchSize: 20 });
    await waitFor('some progress', async () => (await world.control.status()).done >= 20, 60_000, 100);
    const t0 = Date.now();
    expect(await first.stop('SIGTERM', 10_000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(first.output()).toMatch(/shutdown complete/);
    const end = await world.waitForState(['completed', 'failed'], 60_000);
    expect(end.done + end.failed).toBe(assets.length);
    expect(end.batches_failed).toBe(0);
    await expectSigLipEqualsClipMinusFailures(world, assets);
  });

  it('SIGKILL of the embedder: batches retry with backoff until it is back, and the run completes', async () => {
    const { world, root, assets } = await newWorld(160);
    world.startWorker(embedder, root, { REEMBED_RATE_PER_S: '80' });
    await world.control.start({ batchSize: 20 });
    await waitFor('some progress', async () => (await world.control.status()).done >= 20, 60_000, 100);
    await embedder.stop();
    await new Promise((r) => setTimeout(r, 1500));
    const during = await world.control.status();
    expect(during.state).toBe('running');
    await embedder.restart();
    const end = await world.waitForState(['completed', 'failed'], 90_000);
    expect(end.done + end.failed).toBe(assets.length);
    expect(end.batches_failed).toBe(0);
    await expectSigLipEqualsClipMinusFailures(world, assets);
  });

  it('Redis restart mid-run (private redis-server with AOF): the run continues where it was', async () => {
    const port = await freePort();
    const redisDir = await mkdtemp(join(tmpdir(), 'reembed-redis-'));
    // --save '' (no RDB snapshots); AOF with fsync always so a restart keeps the queue, like a production Redis for
    // BullMQ.
    const startRedis = () =>
      spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--dir',
          redisDir,
        ],
        { stdio: 'ignore' },
      );
    let redis: ChildProcess = startRedis();
    const url = `redis://127.0.0.1:${port}`;
    let world: ReembedWorld | undefined;
    try {
      const created = await newWorld(160, url);
      const { world: w, root, assets } = created;
      world = w;
      worlds.splice(worlds.indexOf(w), 1);
      await waitFor('private redis up', async () => (await w.redis.ping()) === 'PONG', 10_000, 100);
      w.startWorker(embedder, root, { REEMBED_RATE_PER_S: '80' });
      await w.control.start({ batchSize: 20 });
      await waitFor('some progress', async () => (await w.control.status()).done >= 20, 60_000, 100);
      const exited = new Promise((r) => redis.once('exit', r));
      redis.kill('SIGTERM');
      await exited;
      await new Promise((r) => setTimeout(r, 1500));
      redis = startRedis();
      const end = await w.waitForState(['completed', 'failed'], 90_000);
      expect(end.done + end.failed).toBe(assets.length);
      await expectSigLipEqualsClipMinusFailures(w, assets);
    } finally {
      // Dispose while the private Redis is up (its keys are removed too), then stop it.
      await world?.dispose();
      redis.kill('SIGKILL');
      await rm(redisDir, { recursive: true, force: true });
    }
  });

  it('batches that exhaust their retries are marked failed and the run goes on; retry-failed redoes them once the embedder is reachable', async () => {
    const { world, root, assets } = await newWorld(60);
    const unreachable = { ...embedder, address: `127.0.0.1:${await freePort()}` };
    const broken = world.startWorker(unreachable, root, { REEMBED_ATTEMPTS: '2', EMBEDDER_DEADLINE_MS: '500' });
    await world.control.start({ batchSize: 20 });
    const end = await world.waitForState(['completed', 'failed'], 60_000);
    expect(end.state).toBe('failed');
    expect(end.batches_failed).toBe(end.batches_total);
    expect(end.failed).toBe(assets.length);
    expect(end.failed_sample[0]?.reason).toBe('BATCH_FAILED');
    expect(end.failed_sample[0]?.message).toMatch(/batch \d+ failed after 2 attempt\(s\)/);
    expect(end.verification?.missing_recorded_failures, JSON.stringify(end)).toBe(assets.length);
    await broken.stop('SIGTERM');
    world.startWorker(embedder, root);
    const { retried } = await world.control.retryFailed();
    expect(retried).toBe(assets.length);
    const again = await world.waitForState(['completed', 'failed'], 60_000);
    expect(again.done + again.failed).toBe(assets.length);
    await expectSigLipEqualsClipMinusFailures(world, assets);
  });

  it('RESOURCE_EXHAUSTED from a small embedder queue slows the worker down instead of failing batches', async () => {
    const small = await startSiglipEmbedder({
      env: { QUEUE_CAPACITY: '16', MAX_REQUEST_ITEMS: '16', GPU_BATCH_SIZE: '8' },
    });
    try {
      const { world, root, assets } = await newWorld(160);
      const port = await freePort();
      world.startWorker(small, root, {
        WORKER_HEALTH_PORT: String(port),
        REEMBED_CONCURRENCY: '6',
        REEMBED_MAX_INFLIGHT: '6',
      });
      await world.control.start({ batchSize: 16 });
      const end = await world.waitForState(['completed', 'failed'], 90_000);
      expect(end.batches_failed).toBe(0);
      expect(end.done + end.failed).toBe(assets.length);
      await expectSigLipEqualsClipMinusFailures(world, assets);
      const metrics = String((await httpGet(`http://127.0.0.1:${port}/metrics`)).body);
      const throttled = Number(/^reembed_embedder_throttled_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      expect(throttled).toBeGreaterThan(0);
      expect(world.workers[0]!.output()).toContain('slowing down');
    } finally {
      await small.stop();
    }
  });
});
