// Integration: the real tools:reembed CLI process against the real Redis (unique QUEUE_PREFIX) and
// the real embedded store in a temp DATA_DIR. No worker runs here: where a run must progress, the
// test drives the run's state in Redis through the same ReembedRunStore calls a worker makes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import { createVectorStore, type VectorStore } from '@image-search/vector-store';
import { ReembedRunStore, type VerificationReport } from '@image-search/jobs';
import { deleteKeys, startTsProcess, testEnv, testRedis, uniqueName, waitFor } from '@image-search/testing';
import { formatDuration, parseReembedArgs } from './reembed.cli.js';

describe('parseReembedArgs', () => {
  it('accepts each command with its options', () => {
    expect(parseReembedArgs(['start', '--batch-size', '50', '--only-missing'])).toMatchObject({
      command: 'start',
      batchSize: 50,
      onlyMissing: true,
    });
    expect(parseReembedArgs(['status', '--follow'])).toMatchObject({ command: 'status', follow: true });
    expect(parseReembedArgs(['retry-failed'])).toMatchObject({ command: 'retry-failed', batchSize: 100 });
    expect(parseReembedArgs(['start', '--from', 'siglip-vit-b16-webli', '--to', 'colour-v3'])).toMatchObject({
      command: 'start',
      from: 'siglip-vit-b16-webli',
      to: 'colour-v3',
    });
    expect(parseReembedArgs(['start'])).toMatchObject({ from: undefined, to: undefined });
    expect(parseReembedArgs(['status', '--to', 'x'])).toMatch(/--from and --to belong to start/);
    expect(parseReembedArgs(['start', '--from', 'a', '--to', 'a'])).toMatch(/same model/);
  });
  it('names what is wrong with bad arguments', () => {
    expect(parseReembedArgs([])).toMatch(/missing command/);
    expect(parseReembedArgs(['restart'])).toMatch(/unknown command "restart"/);
    expect(parseReembedArgs(['start', '--batch-size', '0'])).toMatch(
      /--batch-size must be an integer from 1 to 10000 \(got "0"\)/,
    );
    expect(parseReembedArgs(['start', '--batch-size', 'ten'])).toMatch(/--batch-size/);
    expect(parseReembedArgs(['status', '--only-missing'])).toMatch(/belong to start/);
    expect(parseReembedArgs(['pause', '--follow'])).toMatch(/--follow belongs to status/);
    expect(parseReembedArgs(['start', '--bogus'])).toMatch(/bogus/);
  });
  it('formats durations for people', () => {
    expect(formatDuration(null)).toBe('--');
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});

describe('tools:reembed process (real Redis and store, no worker)', () => {
  const prefix = uniqueName('reembed-cli');
  const redis = testRedis();
  let dir: string;
  let store: VectorStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reembed-cli-'));
    store = await createVectorStore({ dataDir: join(dir, 'data'), logger: createLogger('test', 'warn') });
  });
  afterAll(async () => {
    await store.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });
  const cli = (args: string[]) =>
    startTsProcess(
      'tools/src/reembed.cli.ts',
      {
        REDIS_URL: testEnv.redisUrl,
        QUEUE_PREFIX: prefix,
        DATA_DIR: join(dir, 'data'),
        QDRANT_URL: '',
        REEMBED_POLL_MS: '100',
      },
      args,
    );
  const run = async (args: string[]) => {
    const p = cli(args);
    const code = await p.exited;
    return { code, out: p.output() };
  };

  it('prints usage with exit 2 for bad arguments', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('unknown command "frobnicate"');
    expect(r.out).toContain('usage: npx nx run tools:reembed');
  });

  it('reports idle, refuses to start without a CLIP collection, and refuses pause with no run', async () => {
    const idle = await run(['status', '--json']);
    expect(idle.code).toBe(0);
    expect(JSON.parse(idle.out)).toMatchObject({ state: 'idle', run_id: null });
    const noClip = await run(['start', '--detach']);
    expect(noClip.code).toBe(1);
    expect(noClip.out).toContain("source collection 'image_assets' does not exist");
    const pause = await run(['pause']);
    expect(pause.code).toBe(1);
    expect(pause.out).toContain('cannot pause: no re-embedding run exists yet');
  });

  it('start follows the run with a progress bar until it completes, then exits 0', async () => {
    await store.ensureCollection(collectionSchema('clip', { name: 'image_assets', vectorSize: 4 }));
    const ids = Array.from({ length: 30 }, (_, i) => i.toString(16).padStart(32, '0'));
    await store.upsert(
      'image_assets',
      ids.map((id, i) => ({ assetId: id, vector: [1, i, 0, 0], payload: { path: `/x/${i}.jpg` } })),
    );
    const p = cli(['start', '--batch-size', '10']);
    const runs = new ReembedRunStore(redis, prefix);
    let runId: string | null = null;
    await waitFor('run created', async () => (runId = await runs.currentId()) !== null, 30_000);
    // Act as the worker: plan 3 batches, finish them one by one, verify.
    await runs.savePlanCheckpoint(runId!, { cursor: '$end', batchNo: 3, scanned: 30, skipped: 0 });
    await runs.finishPlanning(runId!, 30);
    for (let b = 0; b < 3; b++) {
      await new Promise((r) => setTimeout(r, 700));
      await runs.finalizeBatch(runId!, b, { done: 10, skipped: 0, batchFailed: false, succeeded: [] });
    }
    await runs.setVerification(runId!, {
      passed: true,
      problems: [],
      checked_at: new Date().toISOString(),
      source_collection: 'image_assets',
      target_collection: 'image_assets_siglip',
      source_count: 30,
      target_count: 30,
      counts_equal: true,
      missing: { count: 0, sample: [] },
      extra: { count: 0, sample: [] },
      missing_recorded_failures: 0,
      vectors: { expected_dim: 4, checked: 30, bad: 0, bad_sample: [] },
    } satisfies VerificationReport);
    await runs.transition(runId!, ['verifying'], 'completed');
    const code = await p.exited;
    const out = p.output();
    expect(code, out).toBe(0);
    expect(out).toContain(`started run ${runId}`);
    expect(out).toMatch(/\| 30\/30 \|/);
    expect(out).toMatch(/\| \d+\/30 \| [\d.]+\/s \| ETA /);
    expect(out).toContain('run: completed, verification passed.');
  });

  it('status, pause, resume and cancel steer a run; a failed verification exits 3', async () => {
    await redis.del(`${prefix}:reembed-run:current`);
    const started = await run(['start', '--detach', '--batch-size', '5', '--only-missing']);
    expect(started.code).toBe(0);
    expect(started.out).toMatch(/started run r\w+ \(batch size 5, only missing ids\)/);
    expect((await run(['status'])).out).toMatch(/state: planning/);
    expect((await run(['pause'])).out).toMatch(/state: paused/);
    expect((await run(['resume'])).out).toMatch(/state: planning/);
    const cancelled = await run(['cancel']);
    expect(cancelled.out).toMatch(/state: cancelled/);
    const again = await run(['cancel']);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/cannot cancel: run r\w+ is cancelled/);

    const p = cli(['verify']);
    const runs = new ReembedRunStore(redis, prefix);
    const id = (await runs.currentId())!;
    await waitFor('verifying', async () => (await runs.state(id)) === 'verifying', 30_000);
    await runs.setVerification(id, {
      passed: false,
      problems: ['30 id(s) of image_assets missing from image_assets_siglip'],
      checked_at: new Date().toISOString(),
      source_collection: 'image_assets',
      target_collection: 'image_assets_siglip',
      source_count: 30,
      target_count: 0,
      counts_equal: false,
      missing: { count: 30, sample: [] },
      extra: { count: 0, sample: [] },
      missing_recorded_failures: 0,
      vectors: { expected_dim: 4, checked: 0, bad: 0, bad_sample: [] },
    });
    await runs.setError(id, 'verification failed: 30 id(s) of image_assets missing from image_assets_siglip');
    await runs.transition(id, ['verifying'], 'failed');
    expect(await p.exited).toBe(3);
    expect(p.output()).toContain('last error: verification failed: 30 id(s)');
    // Eight CLI processes one after another: minutes on a loaded 2-vCPU machine.
  }, 180_000);

  it('a run whose state vanished from Redis (its keys flushed mid-run) is reported as lost, with how to finish (start --only-missing)', async () => {
    await redis.del(`${prefix}:reembed-run:current`);
    await store.ensureCollection(collectionSchema('siglip', { name: 'image_assets_siglip', vectorSize: 4 }));
    const ids = Array.from({ length: 12 }, (_, i) => i.toString(16).padStart(32, '0'));
    await store.upsert(
      'image_assets_siglip',
      ids.map((id, i) => ({ assetId: id, vector: [0, 1, i, 0], payload: { path: `/x/${i}.jpg` } })),
    );
    const p = cli(['start', '--batch-size', '10']);
    const runs = new ReembedRunStore(redis, prefix);
    let runId: string | null = null;
    await waitFor('run created', async () => (runId = await runs.currentId()) !== null, 30_000);
    await runs.savePlanCheckpoint(runId!, { cursor: '$end', batchNo: 3, scanned: 30, skipped: 0 });
    await runs.finishPlanning(runId!, 30);
    await runs.finalizeBatch(runId!, 0, { done: 10, skipped: 0, batchFailed: false, succeeded: [] });
    await new Promise((r) => setTimeout(r, 500));
    // Redis loses its data mid-run (as a restart without persistence does): every key of ours goes.
    await deleteKeys(redis, prefix);
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain(
      `run ${runId} vanished from Redis while this command was following it: Redis lost its data (a restart or a flush); image_assets_siglip holds 12 of the 30 points of image_assets.`,
    );
    expect(p.output()).toMatch(/Redis persistence: |This Redis keeps nothing across a restart/);
    expect(p.output()).toContain('To finish the migration: npx nx run tools:reembed -- start --only-missing');

    // The two status forms read only, so they run at once (a CLI process start takes seconds on a loaded machine).
    const [status, jsonStatus] = await Promise.all([run(['status']), run(['status', '--json'])]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/state: idle/);
    expect(status.out).toContain(
      'no re-embedding run is recorded in Redis, yet image_assets_siglip holds 12 of the 30 points of image_assets: if a run was started, its state vanished from Redis (Redis lost its data',
    );
    expect(status.out).toContain('start --only-missing');
    const json = JSON.parse(jsonStatus.out) as { state: string; lost_run: string };
    expect(json.state).toBe('idle');
    expect(json.lost_run).toMatch(/Redis lost its data.*\n.*\n.*start --only-missing/s);

    const full = await run(['start', '--detach']);
    expect(full.out).toMatch(
      /note: no re-embedding run is recorded in Redis, yet .*\n[\s\S]*Starting a full run anyway/,
    );
    await redis.del(`${prefix}:reembed-run:current`);
    const finish = await run(['start', '--only-missing', '--detach']);
    expect(finish.code).toBe(0);
    expect(finish.out).toMatch(/started run r\w+ \(batch size 100, only missing ids\)/);
    expect(finish.out).not.toContain('note:');
  }, 180_000);
});
