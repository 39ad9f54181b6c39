// GET /api/v1/admin/models with the fake embedders (in-process) over the REAL embedded vector store and
// REAL Redis; a third model from a real registry file whose embedder address answers nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@image-search/testing';
import sharp from 'sharp';
import { AppFixture, ingest, TOKEN } from '../test/app-fixture.js';
import { call } from '../test/http.js';
import type { RunningGateway } from '../test/test-gateway.js';

const fx = new AppFixture();
let gw: RunningGateway;

beforeAll(async () => {
  await fx.setUp({ ingest: true });
  const file = join(fx.root, 'models.yaml');
  const port = await freePort();
  writeFileSync(
    file,
    `models:\n  - { id: colour-v3, family: clip, dim: 4, collection: colour_t, embedder: "127.0.0.1:${port}" }\n`,
  );
  gw = await fx.start({ MODEL_REGISTRY_FILE: file });
});
afterAll(async () => {
  await gw?.close();
  await fx.tearDown();
});

/** GET /api/v1/admin/models, checked against the OpenAPI document. */
const get = async (token?: string) => {
  const r = await call(gw.url, '/api/v1/admin/models', 'GET', '/api/v1/admin/models', token ? { token } : {});
  return { status: r.status, body: r.body as { models: Record<string, unknown>[] } };
};

describe('GET /api/v1/admin/models', () => {
  it('needs the admin token', async () => {
    expect((await get()).status).toBe(401);
  });

  it('lists the seed pair and the registry file model with fingerprints, collections and point counts', async () => {
    const { status, body } = await get(TOKEN);
    expect(status).toBe(200);
    expect(body.models.map((m) => m['id'])).toEqual(['clip-vit-b32-openai', 'siglip-vit-b16-webli', 'colour-v3']);
    const [clip, siglip, third] = body.models;
    expect(clip).toMatchObject({
      family: 'clip',
      dim: 512,
      collection: 'clip_t',
      role: 'from',
      origin: 'seed',
      fingerprint: fx.clip.fingerprint,
      embedder_status: 'serving',
      embedder_model: 'fake-clip',
      collection_exists: true,
      towers: [
        { tower: 'image', state: 'loaded', last_used_at: null },
        { tower: 'text', state: 'loaded', last_used_at: null },
      ],
      idle_unload_s: 0,
    });
    // Seven readable photos were ingested into CLIP; SigLIP's collection was never created.
    expect(clip!['points']).toBe(7);
    expect(siglip).toMatchObject({
      role: 'to',
      fingerprint: fx.siglip.fingerprint,
      collection_exists: false,
      points: 0,
    });
    expect(third).toMatchObject({
      id: 'colour-v3',
      origin: 'file',
      role: null,
      dim: 4,
      collection: 'colour_t',
      embedder_status: 'unreachable',
      fingerprint: null,
      collection_exists: false,
      points: 0,
      towers: null,
      idle_unload_s: null,
    });
  });

  it("shows an idle-unloaded tower's state and last use, and the embedder's MODEL_IDLE_UNLOAD_S", async () => {
    const usedAt = Date.UTC(2026, 11, 7, 22, 30);
    const saved = fx.siglip.towers;
    fx.siglip.towers = [
      { tower: 'image', state: 'unloaded', lastUsedAt: usedAt },
      { tower: 'text', state: 'loading' },
    ];
    fx.siglip.idleUnloadS = 600;
    try {
      const siglip = (await get(TOKEN)).body.models.find((m) => m['id'] === 'siglip-vit-b16-webli');
      expect(siglip).toMatchObject({
        embedder_status: 'serving',
        towers: [
          { tower: 'image', state: 'unloaded', last_used_at: '2026-12-07T22:30:00.000Z' },
          { tower: 'text', state: 'loading', last_used_at: null },
        ],
        idle_unload_s: 600,
      });
    } finally {
      fx.siglip.towers = saved;
      fx.siglip.idleUnloadS = 0;
    }
  });
});

describe('vectors tagged with their model', () => {
  it('the asset view shows, per collection, the model and fingerprint of the stored vector', async () => {
    const list = await call(gw.url, '/api/v1/assets', 'GET', '/api/v1/assets?limit=1');
    const id = list.body.assets[0].id as string;
    const one = await call(gw.url, '/api/v1/assets/{asset_id}', 'GET', `/api/v1/assets/${id}`);
    expect(one.status).toBe(200);
    expect(one.body.vectors).toEqual([
      {
        collection: 'clip_t',
        registered_model: 'clip-vit-b32-openai',
        model_id: 'clip-vit-b32-openai',
        fingerprint: fx.clip.fingerprint,
      },
    ]);
  });

  it('every readable image ingested is in the catalogue, with the content hash its vectors carry', async () => {
    const { catalogue, store } = fx.gw.gw.deps;
    expect(await catalogue.count()).toBe(7);
    const page = await catalogue.scroll({ limit: 10 });
    const [p] = await store.retrieve('clip_t', [page.entries[0]!.assetId]);
    expect(p?.payload['content_hash']).toBe(page.entries[0]!.contentHash);
  });

  it('an embedder reporting another fingerprint than the collection holds: the ingest refuses to write', async () => {
    const before = await fx.gw.gw.deps.store.count('clip_t');
    const saved = fx.clip.fingerprint;
    fx.clip.fingerprint = `sha256:${'9'.repeat(64)}`;
    try {
      await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 0, g: 0, b: 0 } } })
        .png()
        .toFile(join(fx.photos, 'green', 'new.png'));
      const status = await ingest(gw.url, fx.photos);
      expect(status.body.state).toBe('failed');
      expect(status.body.last_error).toMatch(/refusing to write to collection 'clip_t'.*sha256:999999999999/);
      expect(await fx.gw.gw.deps.store.count('clip_t')).toBe(before);
    } finally {
      fx.clip.fingerprint = saved;
    }
  });
});

describe('a bad registry file', () => {
  it('stops the gateway at start with the field named', async () => {
    const file = join(fx.root, 'bad.yaml');
    writeFileSync(file, 'models:\n  - { id: Colour, family: clip, dim: 4, collection: c }\n');
    await expect(fx.start({ MODEL_REGISTRY_FILE: file })).rejects.toThrow(/models\.0\.id/);
  });
});
