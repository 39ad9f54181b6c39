// Gateway HTTP API, ingestion and search with the fake embedders (in-process colour vectors) over the
// REAL embedded vector store (LanceDB in a temp dir) and REAL Redis + BullMQ for ingestion. Every
// response is validated against the OpenAPI document.
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, ingest, search, TOKEN } from '../test/app-fixture.js';
import { call } from '../test/http.js';

const fx = new AppFixture();
const { clip, photos, outside } = fx;
let gw: AppFixture['gw'];

beforeAll(async () => {
  await fx.setUp({ ingest: false });
  gw = fx.gw;
});
afterAll(() => fx.tearDown());

describe('ingestion (fake embedder, real store and Redis)', () => {
  it('refuses paths outside ASSET_ROOTS, through .. and symlinks, and needs the admin token', async () => {
    const base = gw.url;
    const path = '/api/v1/assets/ingest';
    expect((await call(base, path, 'POST', path, { json: { root_path: photos } })).status).toBe(401);
    expect((await call(base, path, 'POST', path, { json: { root_path: photos }, token: 'wrong' })).status).toBe(401);
    for (const p of [outside, join(photos, '..', 'outside'), join(photos, 'escape'), '/etc']) {
      const r = await call(base, path, 'POST', path, { json: { root_path: p }, token: TOKEN });
      expect(r.status, p).toBe(403);
      expect(r.body.error.details).toMatchObject({ field: 'root_path', reason: 'outside_asset_roots' });
    }
    const rel = await call(base, path, 'POST', path, { json: { root_path: 'photos' }, token: TOKEN });
    expect(rel.status).toBe(400);
    expect(rel.body.error.message).toMatch(/root_path: must be an absolute path/);
    expect(
      (await call(base, path, 'POST', path, { json: { root_path: join(photos, 'nope') }, token: TOKEN })).status,
    ).toBe(404);
    expect(
      (await call(base, path, 'POST', path, { json: { root_path: photos, recursive: 'yes' }, token: TOKEN })).body.error
        .details.field,
    ).toBe('recursive');
  });

  it('dry run counts files and lists refused symlinks without writing', async () => {
    const r = await call(gw.url, '/api/v1/assets/ingest', 'POST', '/api/v1/assets/ingest', {
      json: { root_path: photos, dry_run: true },
      token: TOKEN,
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ dry_run: true, files: 8, new: 8, unchanged: 0 });
    // Reports name files by asset root and relative path, never the server's absolute path.
    expect(r.body.refused.map((x: { path: string }) => x.path).sort()).toEqual([
      'photos/escape',
      'photos/green/secret-link.png',
    ]);
    expect(await gw.gw.deps.store.exists('clip_t')).toBe(false);
  });

  it('ingests in background batches with progress, reports bad files, then skips unchanged files', async () => {
    const s = await ingest(gw.url, photos);
    // Files, not attempts: 7 added + 1 failed + 2 refused (symlinks leaving the root) = 10 discovered.
    expect(s.body).toMatchObject({
      state: 'completed',
      discovered: 10,
      done: 7,
      added: 7,
      failed: 1,
      unchanged: 0,
      refused: 2,
      removed: 0,
      batches_total: 3,
      batches_done: 3,
    });
    expect(s.body.failed_sample.map((f: { path: string }) => f.path)).toContain('photos/red/broken.jpg');
    expect(await gw.gw.deps.store.count('clip_t')).toBe(7);
    const again = await ingest(gw.url, photos);
    expect(again.body).toMatchObject({ state: 'completed', done: 0, unchanged: 7, skipped: 7, failed: 1, refused: 2 });
  });
});

describe('search (fake embedder, real store)', () => {
  it('finds red images for "red" with CLIP and the documented shape', async () => {
    const r = await search(gw.url, { query: 'something red', limit: 3 }, { 'x-correlation-id': 'test-corr-1' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-correlation-id')).toBe('test-corr-1');
    expect(clip.lastCorrelationId).toBe('test-corr-1');
    expect((await search(gw.url, { query: 'red', limit: 1 })).headers.get('x-correlation-id')).toMatch(
      /^[0-9a-f-]{36}$/,
    );
    expect(r.body).toMatchObject({
      model: 'clip-vit-b32-openai',
      collection: 'clip_t',
      total: 3,
      query: 'something red',
      rollout: { reason: 'bucket_above_percentage', fallback: false },
    });
    expect(r.body.results.map((x: { asset: { category: string } }) => x.asset.category)).toEqual(['red', 'red', 'red']);
    expect(r.body.results[0].asset.thumbnail_url).toMatch(/^\/api\/v1\/thumbnails\/[0-9a-f]{32}\/[0-9a-f]{16}\.jpg$/);
  });

  it('caches query embeddings by model and normalised text', async () => {
    const before = clip.calls;
    const a = await search(gw.url, { query: '  Deep   BLUE sea ' });
    const b = await search(gw.url, { query: 'deep blue sea' });
    expect(a.body.cached_embedding).toBe(false);
    expect(b.body.cached_embedding).toBe(true);
    expect(clip.calls - before).toBe(1);
    expect(b.body.results[0].asset.category).toBe('blue');
    // The repeated query is answered from the result cache, with this request's own rollout fields.
    expect(b.body.cached_results).toBe(true);
    const c = await search(gw.url, { query: 'deep blue sea', user_id: 61 });
    expect(c.body).toMatchObject({ cached_results: true, rollout: { bucket: 61, bucket_source: 'user_id' } });
    expect(c.body.results).toEqual(b.body.results);
    expect((await search(gw.url, { query: 'deep blue sea', limit: 2 })).body.cached_results).toBe(false);
  });

  it('filters by category and min_score, pages with offset', async () => {
    const r = await search(gw.url, { query: 'red', filters: { category: ['blue', 'green'] }, limit: 10 });
    expect(new Set(r.body.results.map((x: { asset: { category: string } }) => x.asset.category))).toEqual(
      new Set(['blue', 'green']),
    );
    const p1 = await search(gw.url, { query: 'red', limit: 2 });
    const p2 = await search(gw.url, { query: 'red', limit: 2, offset: 2 });
    expect(p2.body.results[0].asset.id).not.toBe(p1.body.results[0].asset.id);
    const hi = await search(gw.url, { query: 'red', min_score: 0.99, limit: 50 });
    expect(hi.body.results.every((x: { score: number }) => x.score >= 0.99)).toBe(true);
  });

  it('answers every malformed request with a 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{}, 'query'],
      [{ query: '' }, 'query'],
      [{ query: '   ' }, 'query'],
      [{ query: 42 }, 'query'],
      [{ query: 'x', limit: 0 }, 'limit'],
      [{ query: 'x', limit: 201 }, 'limit'],
      [{ query: 'x', limit: 'ten' }, 'limit'],
      [{ query: 'x', limit: 1.5 }, 'limit'],
      [{ query: 'x', offset: -1 }, 'offset'],
      [{ query: 'x', min_score: 2 }, 'min_score'],
      [{ query: 'x', user_id: {} }, 'user_id'],
      [{ query: 'x', filters: { date_from: 'yesterday' } }, 'filters.date_from'],
      [{ query: 'x', filters: { colour: 'red' } }, 'filters'],
      [{ query: 'x', limt: 5 }, 'body'],
      [[1, 2], 'body'],
    ];
    for (const [json, field] of cases) {
      const r = await search(gw.url, json);
      expect(r.status, JSON.stringify(json)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ARGUMENT');
      expect(r.body.error.details.field, JSON.stringify(json)).toBe(field);
    }
    const notJson = await call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', {
      body: '{"query": "red",',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatchObject({ message: 'request body is not valid JSON', details: { field: 'body' } });
    const noType = await call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', { body: 'query=red' });
    expect(noType.status).toBe(400);
    const big = await call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', {
      json: { query: 'x'.repeat(100_000) },
    });
    expect(big.status).toBe(413);
    expect(big.body.error.details.field).toBe('body');
    const longQ = await search(gw.url, { query: 'x'.repeat(1001) });
    expect(longQ.body.error.details.field).toBe('query');
  });

  it('searches by uploaded image and refuses non-images, missing files and oversized uploads', async () => {
    const img = await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 0, g: 0, b: 240 } } })
      .jpeg()
      .toBuffer();
    const fd = new FormData();
    fd.append('image', new Blob([img], { type: 'image/jpeg' }), 'q.jpg');
    fd.append('limit', '2');
    const r = await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: fd });
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { asset: { category: string } }) => x.asset.category)).toEqual(['blue', 'blue']);
    const bad = new FormData();
    bad.append('image', new Blob(['hello'], { type: 'image/png' }), 'x.png');
    const nb = await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: bad });
    expect(nb.status).toBe(400);
    expect(nb.body.error.details).toMatchObject({ field: 'image', reason: 'NOT_AN_IMAGE' });
    const none = await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: new FormData() });
    expect(none.body.error.details.field).toBe('image');
    const json = await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { json: { image: 'x' } });
    expect(json.status).toBe(400);
    const lim = new FormData();
    lim.append('limit', '0');
    lim.append('image', new Blob([img], { type: 'image/jpeg' }), 'q.jpg');
    expect(
      (await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: lim })).body.error.details
        .field,
    ).toBe('limit');
    const other = new FormData();
    other.append('picture', new Blob([img], { type: 'image/jpeg' }), 'q.jpg');
    expect((await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: other })).status).toBe(
      400,
    );
  });

  it('finds similar assets from the stored vector, and 404s with a reason for unknown ids', async () => {
    const red = await search(gw.url, { query: 'red', limit: 1 });
    const id = red.body.results[0].asset.id as string;
    const r = await call(gw.url, '/api/v1/search/similar/{asset_id}', 'GET', `/api/v1/search/similar/${id}?limit=2`);
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { asset: { id: string; category: string } }) => x.asset.category)).toEqual([
      'red',
      'red',
    ]);
    expect(r.body.results.map((x: { asset: { id: string } }) => x.asset.id)).not.toContain(id);
    const missing = await call(
      gw.url,
      '/api/v1/search/similar/{asset_id}',
      'GET',
      `/api/v1/search/similar/${'0'.repeat(32)}`,
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.details).toMatchObject({
      reason: 'no_vector_in_routed_collection',
      collection: 'clip_t',
    });
    expect(
      (await call(gw.url, '/api/v1/search/similar/{asset_id}', 'GET', '/api/v1/search/similar/not-an-id')).body.error
        .details.field,
    ).toBe('asset_id');
    expect(
      (await call(gw.url, '/api/v1/search/similar/{asset_id}', 'GET', `/api/v1/search/similar/${id}?limit=abc`)).body
        .error.details.field,
    ).toBe('limit');
  });
});

describe('assets and images (real store, real files)', () => {
  it('lists with a cursor, gets one asset, serves the file and a disk-cached thumbnail', async () => {
    const p1 = await call(gw.url, '/api/v1/assets', 'GET', '/api/v1/assets?limit=4');
    expect(p1.status).toBe(200);
    expect(p1.body.total).toBe(7);
    expect(p1.body.assets).toHaveLength(4);
    const p2 = await call(
      gw.url,
      '/api/v1/assets',
      'GET',
      `/api/v1/assets?limit=4&cursor=${encodeURIComponent(p1.body.next_cursor)}`,
    );
    const ids = [...p1.body.assets, ...p2.body.assets].map((a: { id: string }) => a.id);
    expect(new Set(ids).size).toBe(7);
    const one = await call(gw.url, '/api/v1/assets/{asset_id}', 'GET', `/api/v1/assets/${ids[0]}`);
    expect(one.body).toMatchObject({ asset: { id: ids[0] }, collections: { clip: true, siglip: false } });
    expect(one.body.asset.width).toBeGreaterThan(0);
    expect((await call(gw.url, '/api/v1/assets/{asset_id}', 'GET', `/api/v1/assets/${'f'.repeat(32)}`)).status).toBe(
      404,
    );
    expect((await call(gw.url, '/api/v1/assets', 'GET', '/api/v1/assets?limit=0')).body.error.details.field).toBe(
      'limit',
    );
    // The old thumbnail address redirects to the content-addressed one the answers carry.
    const old = await fetch(`${gw.url}/api/v1/images/${ids[0]}/thumbnail`, { redirect: 'manual' });
    expect(old.status).toBe(302);
    expect(old.headers.get('location')).toBe(one.body.asset.thumbnail_url);
    const t1 = await fetch(`${gw.url}${one.body.asset.thumbnail_url}`);
    expect(t1.status).toBe(200);
    expect(t1.headers.get('content-type')).toBe('image/jpeg');
    expect(t1.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await sharp(Buffer.from(await t1.arrayBuffer())).metadata()).format).toBe('jpeg');
    const f = await fetch(`${gw.url}/api/v1/images/${ids[0]}/file`);
    expect(f.status).toBe(200);
    expect(f.headers.get('content-type')).toBe('image/png');
    expect((await fetch(`${gw.url}/api/v1/images/${'a'.repeat(32)}/file`)).status).toBe(404);
  });
});
