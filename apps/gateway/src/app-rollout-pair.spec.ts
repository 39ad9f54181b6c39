// The rollout router between two registered models that are not the seed's CLIP → SigLIP: a third model
// declared in a REAL registry file (rollout: siglip → colour-v3), fake embedders (in-process colour vectors)
// over the REAL embedded vector store and REAL Redis. Responses, metrics and the admin view name model ids.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { AppFixture, ingest, search, TOKEN } from '../test/app-fixture.js';
import { FakeEmbedder } from '../test/fake-embedder.js';
import { call } from '../test/http.js';
import { startTestGateway, type RunningGateway } from '../test/test-gateway.js';

const fx = new AppFixture();
const colour = new FakeEmbedder('clip');
let gw: RunningGateway;
const SIGLIP = 'siglip-vit-b16-webli';

beforeAll(async () => {
  await fx.setUp({ ingest: false });
  // The seed's SigLIP collection exists before ingest, so ingest fills both seed collections.
  await fx.gw.gw.deps.store.ensureCollection(collectionSchema('siglip', { name: 'siglip_t', vectorSize: 4 }));
  expect((await ingest(fx.gw.url, fx.photos)).body.state).toBe('completed');
  const file = join(fx.root, 'models.yaml');
  writeFileSync(
    file,
    [
      'models:',
      '  - { id: colour-v3, family: clip, dim: 4, collection: colour_t, embedder: "127.0.0.1:1" }',
      `rollout: { from: ${SIGLIP}, to: colour-v3 }`,
    ].join('\n'),
  );
  gw = await startTestGateway(fx.env({ MODEL_REGISTRY_FILE: file, SIGLIP_ROLLOUT_PERCENTAGE: '50' }), {
    embedders: { clip: fx.clip, siglip: fx.siglip, byId: { 'colour-v3': colour } },
  });
});
afterAll(async () => {
  await gw?.close();
  await fx.tearDown();
});

const refresh = () =>
  call(gw.url, '/api/v1/admin/rollout/refresh', 'POST', '/api/v1/admin/rollout/refresh', { token: TOKEN });

describe('rollout between two registered models named by a registry file', () => {
  it('serves the pair by model id: the `from` model above the percentage, the `to` model (once ready) below it', async () => {
    const clipCalls = fx.clip.calls;
    const above = await search(gw.url, { query: 'red', user_id: 70 });
    expect(above.body).toMatchObject({
      model: SIGLIP,
      family: 'siglip',
      collection: 'siglip_t',
      rollout: { bucket: 70, reason: 'bucket_above_percentage', fallback: false, from: SIGLIP, to: 'colour-v3' },
    });
    expect(above.body.results[0].asset.category).toBe('red');
    // colour-v3's collection does not exist yet: its bucket is served by the `from` model, saying why.
    expect((await search(gw.url, { query: 'red', user_id: 7 })).body).toMatchObject({
      model: SIGLIP,
      rollout: { reason: 'fallback:target_collection_missing', fallback: true },
    });

    // Fill colour-v3's collection with its own vectors (colour-v3 is CLIP-shaped: the CLIP vectors are its space).
    await gw.gw.deps.store.ensureCollection(collectionSchema('clip', { name: 'colour_t', vectorSize: 4 }));
    const ids = (await gw.gw.deps.store.scrollIds('clip_t', { limit: 100 })).assetIds;
    const points = await gw.gw.deps.store.retrieve('clip_t', ids, { withVectors: true });
    await gw.gw.deps.store.upsert(
      'colour_t',
      points.map((p) => ({ assetId: p.assetId, vector: p.vector!, payload: { ...p.payload, model_id: 'colour-v3' } })),
    );
    const view = (await refresh()).body;
    expect(view).toMatchObject({
      pair: { from: SIGLIP, to: 'colour-v3' },
      coverage: { from_model: SIGLIP, to_model: 'colour-v3', from_points: 7, to_points: 7, ratio: 1 },
      servable: true,
      blocker: null,
      embedders: { 'colour-v3': '127.0.0.1:1' },
    });
    expect(Object.keys(view.breakers)).toEqual(['clip-vit-b32-openai', SIGLIP, 'colour-v3']);

    const below = await search(gw.url, { query: 'blue', user_id: 7 });
    expect(below.body).toMatchObject({
      model: 'colour-v3',
      family: 'clip',
      collection: 'colour_t',
      rollout: { reason: 'bucket_below_percentage', fallback: false, from: SIGLIP, to: 'colour-v3' },
    });
    expect(below.body.results[0].asset.category).toBe('blue');
    // The seed's CLIP is registered but not in the pair: nobody is routed to it.
    expect(fx.clip.calls).toBe(clipCalls);
  });

  it("falls back to the pair's `from` model when the `to` model's embedder fails, and labels metrics by model id", async () => {
    colour.down = true;
    try {
      const fb = await search(gw.url, { query: 'green', user_id: 7 });
      expect(fb.body).toMatchObject({ model: SIGLIP, rollout: { reason: 'fallback:target_embedder_error' } });
      expect(fb.body.results[0].asset.category).toBe('green');
    } finally {
      colour.down = false;
    }
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(
      /gateway_rollout_decisions_total\{model="colour-v3",reason="bucket_below_percentage"\} [1-9]/,
    );
    expect(metrics).toMatch(
      new RegExp(`gateway_rollout_decisions_total\\{model="${SIGLIP}",reason="bucket_above_percentage"\\} [1-9]`),
    );
    expect(metrics).toMatch(/gateway_collection_points\{model="colour-v3"\} 7/);
    expect(metrics).toMatch(new RegExp(`gateway_rollout_coverage_ratio\\{from="${SIGLIP}",to="colour-v3"\\} 1`));
    expect(metrics).toMatch(
      /gateway_embedder_call_duration_seconds_count\{model="colour-v3",kind="text",outcome="error"\} 1/,
    );
    expect(metrics).not.toMatch(/model="siglip"|model="clip"/);
  });
  it('follows the recorded model state: after the `from` model is retired the `to` model serves everyone', async () => {
    const deps = gw.gw.deps;
    await deps.catalogue.writeModelState(
      {
        pair: { from: 'colour-v3', to: null },
        retired: [
          {
            model_id: SIGLIP,
            collection: 'siglip_t',
            replaced_by: 'colour-v3',
            retired_at: new Date().toISOString(),
            drop_after: new Date(Date.now() + 86_400_000).toISOString(),
            dropped_at: null,
          },
        ],
      },
      0,
    );
    await deps.servingPair.refresh();
    const view = (await refresh()).body;
    expect(view.pair).toEqual({ from: 'colour-v3', to: null, source: 'state', retired: [SIGLIP] });
    for (const user of [7, 70])
      expect((await search(gw.url, { query: 'red', user_id: user })).body).toMatchObject({
        model: 'colour-v3',
        collection: 'colour_t',
        rollout: { from: 'colour-v3', to: null },
      });
    const models = await call(gw.url, '/api/v1/admin/models', 'GET', '/api/v1/admin/models', { token: TOKEN });
    const roles = Object.fromEntries(
      (models.body.models as { id: string; role: string | null }[]).map((m) => [m.id, m.role]),
    );
    expect(roles).toEqual({ 'clip-vit-b32-openai': null, [SIGLIP]: 'retired', 'colour-v3': 'from' });
  });
});
