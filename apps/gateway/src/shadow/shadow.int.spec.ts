// Integration: REAL clip- and siglip-embedder processes (tiny colour ONNX models), the REAL embedded
// store (LanceDB, temp DATA_DIR), REAL Redis + BullMQ ingestion; the gateway in-process on loopback,
// wired like main.ts, with SHADOW_PERCENTAGE=100.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { TINY_EMBEDDING_DIM, COLOUR_RGB } from '@image-search/model-builder';
import { startEmbedderProcess, type TestProcess, uniqueName } from '@image-search/testing';
import sharp from 'sharp';
import { mkdirSync } from 'node:fs';
import { Registry } from 'prom-client';
import { EmbedderClient } from '@image-search/embedder-client';
import { ingest } from '../../test/app-fixture.js';
import { call } from '../../test/http.js';
import { ShadowMetrics } from './shadow.metrics.js';
import { ShadowService } from './shadow.service.js';
import { PairSearch } from './pair-search.js';
import { startTestGateway, tearDownStack, type RunningGateway } from '../../test/test-gateway.js';

const root = mkdtempSync(join(tmpdir(), 'gw-shadow-'));
const photos = join(root, 'photos');
const prefix = uniqueName('gw-shadow');
const TOKEN = 'shadow-token';
const CLIP = 'clip-vit-b32-openai';
const SIGLIP = 'siglip-vit-b16-webli';
const COLOURS = ['red', 'blue', 'green', 'yellow', 'black', 'white'] as const;
const procs: TestProcess[] = [];
let gw: RunningGateway;
let siglipAddr = '';

const search = (query: string) =>
  call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', { json: { query, limit: 10 } });
const shadowSummary = () => call(gw.url, '/api/v1/admin/shadow', 'GET', '/api/v1/admin/shadow', { token: TOKEN });

beforeAll(async () => {
  for (const c of COLOURS) {
    mkdirSync(join(photos, c), { recursive: true });
    const [r, g, b] = COLOUR_RGB[c];
    for (let i = 0; i < 2; i++)
      await sharp({ create: { width: 48 + i * 8, height: 40, channels: 3, background: { r, g, b } } })
        .png()
        .toFile(join(photos, c, `${c}-${i}.png`));
  }
  const [clip, siglip] = await Promise.all([startEmbedderProcess('clip'), startEmbedderProcess('siglip')]);
  procs.push(clip.proc, siglip.proc);
  siglipAddr = siglip.addr;
  gw = await startTestGateway({
    CLIP_EMBEDDER_URL: clip.addr,
    SIGLIP_EMBEDDER_URL: siglip.addr,
    CLIP_EMBEDDING_DIM: String(TINY_EMBEDDING_DIM.clip),
    SIGLIP_EMBEDDING_DIM: String(TINY_EMBEDDING_DIM.siglip),
    ASSET_ROOTS: photos,
    DATA_DIR: join(root, 'data'),
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN: TOKEN,
    SHADOW_PERCENTAGE: '100',
    SHADOW_MAX_PER_S: '1000',
    RESULT_CACHE_SIZE: '0',
  });
  const store = gw.gw.deps.store;
  await store.ensureCollection(collectionSchema('clip', { vectorSize: TINY_EMBEDDING_DIM.clip }));
  await store.ensureCollection(collectionSchema('siglip', { vectorSize: TINY_EMBEDDING_DIM.siglip }));
  expect((await ingest(gw.url, photos, { token: TOKEN })).body.state).toBe('completed');
  expect(await store.count('image_assets_siglip')).toBe(12);
}, 180_000);

afterAll(() => tearDownStack({ gw, procs, prefix, root }));

describe('shadow comparison with real embedders and store', () => {
  it('repeats every search on the other model after the answer and reports overlap, RBO, zero results and latency', async () => {
    for (const c of COLOURS) {
      const r = await search(c);
      expect(r.status).toBe(200);
      // The answering model, by registry id (or by the seed's family name before ids reach the API).
      expect([CLIP, 'clip']).toContain(r.body.model);
    }
    await gw.gw.deps.shadow!.drain();
    const s = await shadowSummary();
    expect(s.status).toBe(200);
    expect(s.body.settings.percentage).toBe(100);
    expect(s.body.pairs).toHaveLength(1);
    const p = s.body.pairs[0];
    expect(p).toMatchObject({ primary: CLIP, shadow: SIGLIP, comparisons: 6, total: 6, errors: 0 });
    expect(p.zero_result_rate).toEqual({ primary: 0, shadow: 0 });
    // Both colour models put a colour's two pictures first: the top-10 sets (all 12 assets but two) agree.
    expect(p.overlap_at_10).toBeGreaterThan(0.6);
    expect(p.rbo).toBeGreaterThan(0.6);
    expect(p.latency_ms.shadow.p50).toBeGreaterThan(0);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain(`gateway_shadow_comparisons_total{primary="${CLIP}",shadow="${SIGLIP}"} 6`);
    expect(metrics).toMatch(
      new RegExp(`gateway_shadow_overlap_at10_count\\{primary="${CLIP}",shadow="${SIGLIP}"\\} 6`),
    );
    expect(metrics).toContain(`gateway_shadow_search_duration_seconds_count{model="${SIGLIP}",role="shadow"} 6`);
  }, 60_000);

  it('a page other than the first is not compared; the budget and the concurrency cap skip instead of queueing', async () => {
    const before = (await shadowSummary()).body;
    const paged = await call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', {
      json: { query: 'red', limit: 5, offset: 5 },
    });
    expect(paged.status).toBe(200);
    // 20 searches at once: at most SHADOW_MAX_CONCURRENCY (4) run together, the rest are skipped.
    const burst = await Promise.all(COLOURS.flatMap((c) => [search(c), search(`${c} picture`), search(`a ${c}`)]));
    expect(burst.every((r) => r.status === 200)).toBe(true);
    await gw.gw.deps.shadow!.drain();
    const after = (await shadowSummary()).body;
    expect(after.skipped.paged).toBe((before.skipped.paged ?? 0) + 1);
    const ran = after.pairs[0].total - before.pairs[0].total;
    const skipped =
      (after.skipped.concurrency ?? 0) -
      (before.skipped.concurrency ?? 0) +
      (after.skipped.busy ?? 0) -
      (before.skipped.busy ?? 0);
    expect(ran + skipped).toBe(18);
    expect(ran).toBeGreaterThan(0);
  }, 60_000);

  it('the per-second budget skips what exceeds it', async () => {
    const siglip = new EmbedderClient({ address: siglipAddr });
    const d = gw.gw.deps;
    const svc = new ShadowService({
      pair: new PairSearch({ pair: () => d.registry.pair, embedders: new Map([[SIGLIP, siglip]]), store: d.store }),
      metrics: new ShadowMetrics(new Registry()),
      logger: d.logger,
      settings: { percentage: 100, maxConcurrency: 100, maxPerSecond: 2, deadlineMs: 2000, idleWaitMs: 1000 },
    });
    const ids = (await search('red')).body.results.map((r: { asset: { id: string } }) => r.asset.id);
    for (let i = 0; i < 5; i++)
      svc.afterAnswer({ query: 'red', limit: 10, offset: 0, collection: 'image_assets', resultIds: ids, latencyMs: 1 });
    await svc.drain();
    expect(svc.summary().skipped).toEqual({ budget: 3 });
    expect(svc.summary().pairs[0]).toMatchObject({ comparisons: 2, total: 2, errors: 0 });

    // User searches go first: a shadow search waits while one is in flight, and gives up after idleWaitMs.
    await new Promise((r) => setTimeout(r, 1100));
    const end = svc.userBegin();
    svc.afterAnswer({ query: 'blue', limit: 10, offset: 0, collection: 'image_assets', resultIds: ids, latencyMs: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(svc.summary().pairs[0]!.total).toBe(2);
    end();
    await svc.drain();
    expect(svc.summary().pairs[0]!.total).toBe(3);
    const impatient = new ShadowService({
      pair: new PairSearch({ pair: () => d.registry.pair, embedders: new Map([[SIGLIP, siglip]]), store: d.store }),
      metrics: new ShadowMetrics(new Registry()),
      logger: d.logger,
      settings: { percentage: 100, maxConcurrency: 100, maxPerSecond: 10, deadlineMs: 2000, idleWaitMs: 50 },
    });
    const held = impatient.userBegin();
    impatient.afterAnswer({
      query: 'red',
      limit: 10,
      offset: 0,
      collection: 'image_assets',
      resultIds: ids,
      latencyMs: 1,
    });
    await impatient.drain();
    held();
    expect(impatient.summary()).toMatchObject({ skipped: { busy: 1 }, pairs: [] });
    siglip.close();
  }, 60_000);

  it('a shadow model that is down never fails or slows the answer; its failures are counted', async () => {
    await procs[1]!.stop('SIGKILL');
    const before = (await shadowSummary()).body.pairs[0];
    for (const c of COLOURS) {
      const r = await search(`${c} thing`);
      expect(r.status).toBe(200);
      expect(r.body.results.length).toBeGreaterThan(0);
      // One at a time, so the concurrency cap does not skip any while the dead embedder times out.
      await gw.gw.deps.shadow!.drain();
    }
    const after = (await shadowSummary()).body.pairs[0];
    expect(after.errors - before.errors).toBe(COLOURS.length);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`gateway_shadow_errors_total\\{model="${SIGLIP}"\\} ${COLOURS.length}`));
  }, 60_000);
});
