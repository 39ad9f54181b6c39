// Integration: deletions and edits in the middle of a re-embedding run. REAL clip- and siglip-embedder
// processes (tiny colour ONNX models), the REAL reembed-worker process (BullMQ on the REAL Redis), the
// REAL embedded store and catalogue shared by the gateway (in-process) and the worker. The test deletes
// and edits exactly the assets of the batches the worker holds at that moment (read before the change,
// written after it), then checks nothing deleted came back, edits kept their new vectors, and the run's
// verify passes.
import { mkdirSync, mkdtempSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { EmbedderClient } from '@image-search/embedder-client';
import {
  startEmbedderProcess,
  startTsProcess,
  testEnv,
  testRedis,
  uniqueName,
  waitFor,
  type TestProcess,
} from '@image-search/testing';
import { ingest, TOKEN } from '../test/app-fixture.js';
import { call } from '../test/http.js';
import { startTestGateway, tearDownStack, type RunningGateway } from '../test/test-gateway.js';

const root = mkdtempSync(join(tmpdir(), 'gw-race-'));
const photos = join(root, 'photos');
const dataDir = join(root, 'data');
const prefix = uniqueName('gw-race');
const procs: TestProcess[] = [];
const CLIP = 'image_assets';
const SIGLIP = 'image_assets_siglip';
const N = 48;
let gw: RunningGateway;
let worker: TestProcess;
const redis = testRedis();
const queue = new Queue('reembed', { connection: redis, prefix });

const photoPath = (i: number) => join(photos, ['red', 'green', 'blue'][i % 3]!, `p-${String(i).padStart(3, '0')}.png`);
// Every photo distinct (a rescan would otherwise take one vanished photo for another's move).
const colour = (i: number) =>
  [
    { r: 220, g: 20 + i, b: 30 },
    { r: 30, g: 200, b: 20 + i },
    { r: 20 + i, g: 40, b: 220 },
  ][i % 3]!;

async function allIds(collection: string): Promise<Set<string>> {
  const out = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await gw.gw.deps.store.scrollIds(collection, { limit: 500, ...(cursor ? { cursor } : {}) });
    page.assetIds.forEach((id) => out.add(id));
    cursor = page.next;
  } while (cursor);
  return out;
}

/** The asset ids of the batches the worker is processing now (it has read them and not yet written). */
async function activeIds(): Promise<string[]> {
  const jobs = await queue.getActive();
  return jobs.flatMap((j) => (j.name === 'reembed.batch' ? ((j.data as { assetIds: string[] }).assetIds ?? []) : []));
}

const runStatus = async () =>
  (await call(gw.url, '/api/v1/admin/siglip/status', 'GET', '/api/v1/admin/siglip/status', { token: TOKEN })).body;

beforeAll(async () => {
  for (let i = 0; i < N; i++) {
    mkdirSync(join(photoPath(i), '..'), { recursive: true });
    await sharp({ create: { width: 32, height: 24, channels: 3, background: colour(i) } })
      .png()
      .toFile(photoPath(i));
  }
  const [clip, siglip] = await Promise.all([startEmbedderProcess('clip'), startEmbedderProcess('siglip')]);
  procs.push(clip.proc, siglip.proc);
  gw = await startTestGateway({
    CLIP_EMBEDDER_URL: clip.addr,
    SIGLIP_EMBEDDER_URL: siglip.addr,
    ASSET_ROOTS: photos,
    DATA_DIR: dataDir,
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN: TOKEN,
    COVERAGE_REFRESH_MS: '600000',
    INGEST_BATCH_SIZE: '8',
    // The assertions read what the worker process wrote: no bounded staleness here.
    READ_CONSISTENCY_MS: '0',
  });
  expect((await ingest(gw.url, photos)).body).toMatchObject({ state: 'completed', added: N });
  const info = await new EmbedderClient({ address: siglip.addr }).info();
  await gw.gw.deps.store.ensureCollection(collectionSchema('siglip', { name: SIGLIP, vectorSize: info.embeddingDim }));
  // Slow on purpose (a few images per second), so each batch holds its assets for about a second.
  worker = startTsProcess('apps/reembed-worker/src/main.ts', {
    REDIS_URL: testEnv.redisUrl,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    CLIP_COLLECTION: CLIP,
    SIGLIP_COLLECTION: SIGLIP,
    SIGLIP_EMBEDDING_DIM: String(info.embeddingDim),
    ASSET_ROOTS: photos,
    SIGLIP_EMBEDDER_URL: siglip.addr,
    WORKER_HEALTH_PORT: '0',
    REEMBED_RATE_PER_S: '6',
    REEMBED_CONCURRENCY: '2',
    REEMBED_BACKOFF_MS: '200',
    REEMBED_BACKOFF_MAX_MS: '1000',
    REEMBED_VERIFY_SAMPLE: '0',
    LOG_LEVEL: 'info',
    QDRANT_URL: '',
  });
  procs.push(worker);
}, 240_000);

afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await tearDownStack({ gw, procs, prefix, root });
});

describe('deletions and edits during a re-embedding run (real worker, embedders, Redis, store)', () => {
  it('never resurrects a deleted asset nor reverts an edit, and verify passes', async () => {
    const start = await call(gw.url, '/api/v1/admin/siglip/{action}', 'POST', '/api/v1/admin/siglip/start', {
      token: TOKEN,
      json: { batch_size: 6 },
    });
    expect(start.status).toBe(202);
    const byPath = new Map<string, string>();
    for (const p of (await call(gw.url, '/api/v1/assets', 'GET', '/api/v1/assets?limit=100')).body.assets)
      byPath.set(join(photos, p.path), p.id);
    const deleted = new Set<string>();
    const edited = new Map<string, number>();
    const idOf = (i: number) => byPath.get(photoPath(i))!;
    const indexOf = new Map([...Array(N).keys()].map((i) => [idOf(i), i]));

    // Round 1: delete, through the API, assets the worker holds right now.
    let held: string[] = [];
    await waitFor('a batch in flight', async () => (held = await activeIds()).length > 0, 60_000, 20);
    // The files go too (a deleted asset whose file stays comes back on the next rescan, as it should).
    for (const id of held.slice(0, 3)) {
      unlinkSync(photoPath(indexOf.get(id)!));
      expect(
        (await call(gw.url, '/api/v1/assets/{asset_id}', 'DELETE', `/api/v1/assets/${id}`, { token: TOKEN })).status,
      ).toBe(200);
      deleted.add(id);
    }
    // Round 2: edit and delete on disk files of the batches in flight then, and reconcile with a rescan.
    await waitFor(
      'another batch in flight',
      async () => (held = (await activeIds()).filter((id) => !deleted.has(id))).length >= 2,
      60_000,
      20,
    );
    const [toEdit, toRemove] = [held.slice(0, 2), held.slice(2, 4)];
    for (const id of toEdit) {
      const i = indexOf.get(id)!;
      await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 250, g: 240, b: 10 } } })
        .png()
        .toFile(photoPath(i));
      edited.set(id, i);
    }
    for (const id of toRemove) {
      unlinkSync(photoPath(indexOf.get(id)!));
      deleted.add(id);
    }
    const rescan = await ingest(gw.url, photos);
    expect(rescan.body).toMatchObject({ state: 'completed', changed: toEdit.length, removed: toRemove.length });

    let last: { state: string } | undefined;
    await waitFor(
      'the run to finish',
      async () => ['completed', 'failed', 'cancelled'].includes((last = await runStatus()).state),
      180_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(last)}\n${worker.output().slice(-4000)}`);
    });
    expect(last, worker.output().slice(-4000)).toMatchObject({ state: 'completed' });

    const [clipIds, siglipIds] = [await allIds(CLIP), await allIds(SIGLIP)];
    for (const id of deleted) {
      expect(clipIds.has(id), `deleted ${id} in CLIP`).toBe(false);
      expect(siglipIds.has(id), `deleted ${id} resurrected in SigLIP`).toBe(false);
    }
    expect([...siglipIds].sort()).toEqual([...clipIds].sort());
    expect(clipIds.size).toBe(N - deleted.size);
    expect(await gw.gw.deps.catalogue.count()).toBe(N - deleted.size);
    // Edited assets hold vectors of their new content in both collections (the catalogue's hash).
    for (const id of edited.keys()) {
      const want = (await gw.gw.deps.catalogue.get([id]))[0]!.contentHash;
      for (const c of [CLIP, SIGLIP]) {
        const [p] = await gw.gw.deps.store.retrieve(c, [id]);
        expect(p?.payload['content_hash'], `${c} ${id}`).toBe(want);
      }
    }
    // A fresh verify agrees.
    const verify = await call(gw.url, '/api/v1/admin/siglip/{action}', 'POST', '/api/v1/admin/siglip/verify', {
      token: TOKEN,
    });
    expect(verify.status).toBeLessThan(300);
    await waitFor(
      'verify',
      async () => ['completed', 'failed'].includes((last = await runStatus()).state),
      60_000,
      250,
    );
    expect(last).toMatchObject({ state: 'completed' });
  }, 300_000);
});
