// Integration: REAL clip- and siglip-embedder processes (tiny colour ONNX models), the REAL embedded
// store (LanceDB, temp DATA_DIR), REAL Redis (events, online metrics, rate limits) and BullMQ ingest;
// the gateway in-process on loopback, wired like main.ts, interleaving buckets 0-49.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { COLOUR_RGB, TINY_EMBEDDING_DIM } from '@image-search/model-builder';
import { bucketOf } from '@image-search/rollout-router';
import { startEmbedderProcess, type TestProcess, uniqueName, waitFor } from '@image-search/testing';
import { ingest } from '../../test/app-fixture.js';
import { call, type Res } from '../../test/http.js';
import { startTestGateway, tearDownStack, type RunningGateway } from '../../test/test-gateway.js';

const root = mkdtempSync(join(tmpdir(), 'gw-events-'));
const photos = join(root, 'photos');
const prefix = uniqueName('gw-events');
const TOKEN = 'events-token';
const CLIP = 'clip-vit-b32-openai';
const SIGLIP = 'siglip-vit-b16-webli';
const COLOURS = ['red', 'blue', 'green', 'yellow'] as const;
const procs: TestProcess[] = [];
let gw: RunningGateway;

/** A user id whose rollout bucket is in [lo, hi]. */
function userIn(lo: number, hi: number, skip = 0): string {
  for (let i = 0; ; i++) {
    const b = bucketOf(`user-${i}`);
    if (b >= lo && b <= hi && skip-- <= 0) return `user-${i}`;
  }
}

const search = (query: string, userId: string, limit = 6) =>
  call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', { json: { query, limit, user_id: userId } });
const event = (json: unknown) => call(gw.url, '/api/v1/events', 'POST', '/api/v1/events', { json });
const online = () => call(gw.url, '/api/v1/admin/online', 'GET', '/api/v1/admin/online', { token: TOKEN });
const figures = (r: Res, model: string) =>
  (r.body.models as { model: string; overall: Record<string, unknown> }[]).find((m) => m.model === model)!.overall;

beforeAll(async () => {
  for (const c of COLOURS) {
    mkdirSync(join(photos, c), { recursive: true });
    const [r, g, b] = COLOUR_RGB[c];
    for (let i = 0; i < 3; i++)
      await sharp({ create: { width: 40 + i * 8, height: 40, channels: 3, background: { r, g, b } } })
        .png()
        .toFile(join(photos, c, `${c}-${i}.png`));
  }
  const [clip, siglip] = await Promise.all([startEmbedderProcess('clip'), startEmbedderProcess('siglip')]);
  procs.push(clip.proc, siglip.proc);
  gw = await startTestGateway({
    CLIP_EMBEDDER_URL: clip.addr,
    SIGLIP_EMBEDDER_URL: siglip.addr,
    CLIP_EMBEDDING_DIM: String(TINY_EMBEDDING_DIM.clip),
    SIGLIP_EMBEDDING_DIM: String(TINY_EMBEDDING_DIM.siglip),
    ASSET_ROOTS: photos,
    DATA_DIR: join(root, 'data'),
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN: TOKEN,
    INTERLEAVE_BUCKETS: '0-49',
    RATE_LIMIT_EVENTS_PER_MIN: '40',
    RESULT_CACHE_SIZE: '0',
  });
  const store = gw.gw.deps.store;
  await store.ensureCollection(collectionSchema('clip', { vectorSize: TINY_EMBEDDING_DIM.clip }));
  await store.ensureCollection(collectionSchema('siglip', { vectorSize: TINY_EMBEDDING_DIM.siglip }));
  expect((await ingest(gw.url, photos, { token: TOKEN })).body.state).toBe('completed');
}, 180_000);

afterAll(() => tearDownStack({ gw, procs, prefix, root }));

describe('events and online metrics with real Redis, embedders and store', () => {
  it('credits clicks to the answering model and bucket: CTR@k, MRR of clicks, abandonment, zero results', async () => {
    const user = userIn(50, 99);
    const bucket = bucketOf(user);
    const answers = [];
    for (const c of COLOURS) answers.push((await search(c, user)).body);
    for (const a of answers) {
      expect(a.model).toBe(CLIP);
      expect(a.interleaved).toBeUndefined();
      expect(typeof a.search_id).toBe('string');
    }
    // Search 1: click at rank 1 then a download at rank 3 (only the first event counts for CTR/MRR);
    // search 2: open at rank 4; searches 3 and 4: nothing (abandoned).
    const r1 = await event({
      search_id: answers[0].search_id,
      type: 'click',
      asset_id: answers[0].results[0].asset.id,
      rank: 1,
    });
    expect(r1.status).toBe(202);
    expect(r1.body).toEqual({ accepted: true, first_for_search: true, model: CLIP });
    const r2 = await event({
      search_id: answers[0].search_id,
      type: 'download',
      asset_id: answers[0].results[2].asset.id,
      rank: 3,
    });
    expect(r2.body.first_for_search).toBe(false);
    expect(
      (
        await event({
          search_id: answers[1].search_id,
          type: 'open',
          asset_id: answers[1].results[3].asset.id,
          rank: 4,
        })
      ).status,
    ).toBe(202);
    await waitFor('search counts written', async () => figures(await online(), CLIP)['searches'] === 4, 5000, 50);
    const o = await online();
    const f = figures(o, CLIP);
    // By hand: 4 searches; first events at ranks 1 and 4.
    expect(f).toMatchObject({
      searches: 4,
      errors: 0,
      zero_result_rate: 0,
      'ctr@1': 0.25,
      'ctr@3': 0.25,
      'ctr@5': 0.5,
      'ctr@10': 0.5,
      mrr: (1 + 1 / 4) / 4,
      abandonment: 0.5,
      events: { click: 1, open: 1, download: 1 },
    });
    const lo = Math.floor(bucket / 10) * 10;
    const row = (o.body.models as { model: string; buckets: { range: string; searches: number; events: object }[] }[])
      .find((m) => m.model === CLIP)!
      .buckets.find((b) => b.range === `${lo}-${lo + 9}`);
    expect(row?.searches).toBe(4);
    expect(row?.events).toEqual({ click: 1, open: 1, download: 1 });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain(`gateway_search_events_total{type="click",model="${CLIP}"} 1`);
  }, 60_000);

  it('refuses forged ids and ranks the search never showed, naming the field', async () => {
    const a = (await search('red', userIn(50, 99, 1))).body;
    const forged = await event({
      search_id: `${a.search_id}x`,
      type: 'click',
      asset_id: a.results[0].asset.id,
      rank: 1,
    });
    expect(forged.status).toBe(400);
    expect(forged.body.error.message).toMatch(/^search_id: not a search id returned by a search response/);
    const far = await event({ search_id: a.search_id, type: 'click', asset_id: a.results[0].asset.id, rank: 50 });
    expect(far.status).toBe(400);
    expect(far.body.error.message).toMatch(/rank: that search returned 6 result\(s\)/);
    const bad = await event({ search_id: a.search_id, type: 'like', asset_id: 'x', rank: 0 });
    expect(bad.status).toBe(400);
  }, 30_000);

  it('interleaves both models for buckets 0-49 and credits each click to the team that contributed the result', async () => {
    const clicks: string[] = [];
    for (let k = 0; k < 8; k++) {
      const a = (await search(COLOURS[k % COLOURS.length]!, userIn(0, 49, k))).body;
      expect(a.interleaved).toEqual({ a: CLIP, b: SIGLIP });
      expect(a.results).toHaveLength(6);
      expect(new Set(a.results.map((r: { asset: { id: string } }) => r.asset.id)).size).toBe(6);
      // The user clicks the first result: credited to whichever team put it there.
      const e = await event({ search_id: a.search_id, type: 'click', asset_id: a.results[0].asset.id, rank: 1 });
      expect(e.status).toBe(202);
      clicks.push(a.search_id);
    }
    const il = (await online()).body.interleaving as {
      a: string;
      b: string;
      searches: number;
      wins: { a: number; b: number };
      p_value: number;
    }[];
    expect(il).toHaveLength(1);
    expect(il[0]).toMatchObject({ a: CLIP, b: SIGLIP, searches: 8 });
    expect(il[0]!.wins.a + il[0]!.wins.b).toBe(8);
    expect(il[0]!.p_value).toBeGreaterThan(0);
  }, 60_000);

  it('rate-limits events per client (429 with Retry-After)', async () => {
    const a = (await search('blue', userIn(50, 99, 2))).body;
    const codes: number[] = [];
    for (let i = 0; i < 45; i++)
      codes.push(
        (await event({ search_id: a.search_id, type: 'click', asset_id: a.results[0].asset.id, rank: 1 })).status,
      );
    expect(codes).toContain(429);
  }, 60_000);
});
