// COVERAGE_MODE=blend with the fake embedders (in-process colour vectors, SigLIP's space a permutation of
// CLIP's) over the REAL embedded vector store and REAL Redis: the SigLIP collection covers only the red
// pictures; a user routed to SigLIP gets SigLIP's results over them plus CLIP's over the rest, fused by
// reciprocal rank, and the response says so. Every response is validated against the OpenAPI document.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { AppFixture, search, TOKEN } from '../test/app-fixture.js';
import { call } from '../test/http.js';
import type { RunningGateway } from '../test/test-gateway.js';
import { reciprocalRankFusion } from './search/blend.js';

const fx = new AppFixture();
let blend: RunningGateway;
const SIGLIP = 'siglip-vit-b16-webli';
const CLIP = 'clip-vit-b32-openai';
let reds: string[] = [];

beforeAll(async () => {
  await fx.setUp({ ingest: true });
  const store = fx.gw.gw.deps.store;
  await store.ensureCollection(collectionSchema('siglip', { name: 'siglip_t', vectorSize: 4 }));
  // SigLIP has re-embedded the three red pictures only (3 of 7 catalogued assets).
  const points = (await store.retrieve('clip_t', (await store.scrollIds('clip_t', { limit: 100 })).assetIds)).filter(
    (p) => p.payload.category === 'red',
  );
  const vectors = await fx.siglip.embedImages(
    await Promise.all(points.map(async (p) => ({ data: await readFile(p.payload.path!), id: p.assetId }))),
  );
  await store.upsert(
    'siglip_t',
    points.map((p, i) => {
      const v = vectors[i]!;
      if (!v.ok) throw new Error(v.message);
      return { assetId: p.assetId, vector: v.vector, payload: { ...p.payload, model_id: SIGLIP } };
    }),
  );
  reds = points.map((p) => p.assetId);
  blend = await fx.start({ USE_SIGLIP: 'true', COVERAGE_MODE: 'blend' });
});
afterAll(async () => {
  await blend?.close();
  await fx.tearDown();
});

describe('COVERAGE_MODE=blend (fake embedders, real store)', () => {
  it('the gate (default) serves CLIP while SigLIP covers 3 of 7 assets', async () => {
    const gate = await fx.start({ USE_SIGLIP: 'true' });
    try {
      const r = await search(gate.url, { query: 'blue', user_id: 7 });
      expect(r.body).toMatchObject({ model: CLIP, rollout: { reason: 'fallback:target_coverage_below_minimum' } });
      expect(r.body.blend).toBeUndefined();
    } finally {
      await gate.close();
    }
  });

  it("blends SigLIP's results over the assets it covers with CLIP's over the rest, by reciprocal rank", async () => {
    const view = await call(blend.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN });
    expect(view.body.coverage).toMatchObject({ to_points: 3, catalogue_assets: 7, baseline: 'catalogue' });
    const r = await search(blend.url, { query: 'blue', user_id: 7, limit: 7 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      model: SIGLIP,
      collection: 'siglip_t',
      rollout: { reason: 'forced', fallback: false },
      blend: { method: 'rrf', k: 60, coverage: 3 / 7 },
    });
    const ids: string[] = r.body.results.map((x: { asset: { id: string } }) => x.asset.id);
    expect(new Set(ids).size).toBe(7); // every asset once: SigLIP's three, CLIP's four others
    expect(ids.filter((id) => reds.includes(id))).toHaveLength(3);
    expect(r.body.blend.models).toEqual([
      { model: SIGLIP, collection: 'siglip_t', results: 3 },
      { model: CLIP, collection: 'clip_t', results: 4 },
    ]);
    // Rank fusion interleaves the two lists: CLIP's best answer to "blue" (a blue picture) is in the top two.
    const cats = r.body.results.map((x: { asset: { category: string } }) => x.asset.category);
    expect(cats.slice(0, 2)).toContain('blue');
    expect(r.body.results[0].score).toBeCloseTo(1 / 61);
    // Pages continue the fused ranking.
    const second = await search(blend.url, { query: 'blue', user_id: 7, limit: 3, offset: 3 });
    expect(second.body.results.map((x: { asset: { id: string } }) => x.asset.id)).toEqual(ids.slice(3, 6));
    const metrics = await (await fetch(`${blend.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`gateway_blended_searches_total\\{to="${SIGLIP}",from="${CLIP}"\\} [1-9]`));
  });

  it('users outside the rollout are not blended; similar-by-id uses the `from` model while SigLIP is partial', async () => {
    const other = await fx.start({ SIGLIP_ROLLOUT_PERCENTAGE: '10', COVERAGE_MODE: 'blend' });
    try {
      const r = await search(other.url, { query: 'blue', user_id: 50 });
      expect(r.body).toMatchObject({ model: CLIP, rollout: { reason: 'bucket_above_percentage' } });
      expect(r.body.blend).toBeUndefined();
    } finally {
      await other.close();
    }
    const id = reds[0]!;
    const sim = await call(
      blend.url,
      '/api/v1/search/similar/{asset_id}',
      'GET',
      `/api/v1/search/similar/${id}?user_id=7`,
    );
    expect(sim.status).toBe(200);
    expect(sim.body).toMatchObject({ model: CLIP, rollout: { reason: 'fallback:target_coverage_below_minimum' } });
  });
});

describe('reciprocalRankFusion', () => {
  const hit = (id: string) => ({ assetId: id, score: 0.9, payload: { asset_id: id } });
  it('scores by rank only, sums an asset found twice, and keeps the earlier list first on ties', () => {
    const fused = reciprocalRankFusion([
      [hit('a'), hit('b')],
      [hit('c'), hit('a')],
    ]);
    expect(fused.map((f) => f.hit.assetId)).toEqual(['a', 'c', 'b']);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 62);
    expect(fused[1]!.score).toBeCloseTo(1 / 61);
  });
});
