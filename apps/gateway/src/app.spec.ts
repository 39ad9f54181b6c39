// Gateway HTTP API with the fake embedders (in-process colour vectors) over the REAL embedded
// vector store (LanceDB in a temp dir) and REAL Redis + BullMQ for ingestion. Every response is
// validated against the OpenAPI document.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, testRedis, uniqueName, waitFor } from '@image-search/testing';
import { FakeEmbedder } from '../test/fake-embedder.js';
import { call, type Res } from '../test/http.js';
import { startTestGateway, type RunningGateway } from '../test/test-gateway.js';

const root = mkdtempSync(join(tmpdir(), 'gw-app-'));
const photos = join(root, 'photos');
const outside = join(root, 'outside');
const prefix = uniqueName('gw-app');
const redis = testRedis();
const TOKEN = 's3cret-token';
const clip = new FakeEmbedder('clip');
const siglip = new FakeEmbedder('siglip');
let gw: RunningGateway;

async function png(path: string, rgb: [number, number, number]): Promise<void> {
  await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(path);
}

const env = (extra: Record<string, string> = {}) => ({
  ASSET_ROOTS: photos,
  DATA_DIR: join(root, 'data'),
  QUEUE_PREFIX: prefix,
  ADMIN_TOKEN: TOKEN,
  CLIP_COLLECTION: 'clip_t',
  SIGLIP_COLLECTION: 'siglip_t',
  COVERAGE_REFRESH_MS: '600000',
  LOG_LEVEL: 'error',
  INGEST_BATCH_SIZE: '3',
  ...extra,
});

async function ingest(base: string, rootPath: string): Promise<Res> {
  const started = await call(base, '/api/v1/assets/ingest', 'POST', '/api/v1/assets/ingest', { json: { root_path: rootPath }, token: TOKEN });
  expect(started.status).toBe(202);
  let status: Res | undefined;
  await waitFor('ingest to finish', async () => {
    status = await call(base, '/api/v1/assets/ingest/{ingest_id}', 'GET', started.body.status_url, { token: TOKEN });
    return ['completed', 'failed'].includes(status.body.state);
  }, 30_000, 100);
  return status!;
}

const search = (base: string, json: unknown, headers: Record<string, string> = {}) => call(base, '/api/v1/search', 'POST', '/api/v1/search', { json, headers });

beforeAll(async () => {
  for (const d of ['red', 'blue', 'green', 'nested/deeper']) mkdirSync(join(photos, d), { recursive: true });
  mkdirSync(outside);
  await Promise.all([
    png(join(photos, 'red', 'r1.png'), [250, 10, 10]),
    png(join(photos, 'red', 'r2.png'), [230, 30, 20]),
    png(join(photos, 'red', 'r3.png'), [200, 0, 40]),
    png(join(photos, 'blue', 'b1.png'), [10, 10, 250]),
    png(join(photos, 'blue', 'b2.png'), [30, 40, 220]),
    png(join(photos, 'green', 'g1.png'), [10, 200, 10]),
    png(join(photos, 'nested', 'deeper', 'y1.png'), [250, 250, 0]),
    png(join(outside, 'secret.png'), [0, 0, 0]),
  ]);
  writeFileSync(join(photos, 'red', 'broken.jpg'), 'this is not a jpeg');
  symlinkSync(outside, join(photos, 'escape'));
  symlinkSync(join(outside, 'secret.png'), join(photos, 'green', 'secret-link.png'));
  gw = await startTestGateway(env(), { embedders: { clip, siglip } });
});

afterAll(async () => {
  await gw?.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  rmSync(root, { recursive: true, force: true });
});

describe('ingestion (fake embedder, real store and Redis)', () => {
  it('refuses paths outside ASSET_ROOTS, through .. and symlinks, and needs the admin token', async () => {
    const base = gw.url;
    const path = '/api/v1/assets/ingest';
    expect((await call(base, path, 'POST', path, { json: { root_path: photos } })).status).toBe(401);
    expect((await call(base, path, 'POST', path, { json: { root_path: photos }, token: 'wrong' })).status).toBe(403);
    for (const p of [outside, join(photos, '..', 'outside'), join(photos, 'escape'), '/etc']) {
      const r = await call(base, path, 'POST', path, { json: { root_path: p }, token: TOKEN });
      expect(r.status, p).toBe(403);
      expect(r.body.error.details).toMatchObject({ field: 'root_path', reason: 'outside_asset_roots' });
    }
    const rel = await call(base, path, 'POST', path, { json: { root_path: 'photos' }, token: TOKEN });
    expect(rel.status).toBe(400);
    expect(rel.body.error.message).toMatch(/root_path: must be an absolute path/);
    expect((await call(base, path, 'POST', path, { json: { root_path: join(photos, 'nope') }, token: TOKEN })).status).toBe(404);
    expect((await call(base, path, 'POST', path, { json: { root_path: photos, recursive: 'yes' }, token: TOKEN })).body.error.details.field).toBe('recursive');
  });

  it('dry run counts files and lists refused symlinks without writing', async () => {
    const r = await call(gw.url, '/api/v1/assets/ingest', 'POST', '/api/v1/assets/ingest', { json: { root_path: photos, dry_run: true }, token: TOKEN });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ dry_run: true, files: 8, new: 8, unchanged: 0 });
    expect(r.body.refused.map((x: { path: string }) => x.path).sort()).toEqual([join(photos, 'escape'), join(photos, 'green', 'secret-link.png')]);
    expect(await gw.gw.deps.store.exists('clip_t')).toBe(false);
  });

  it('ingests in background batches with progress, reports bad files, then skips unchanged files', async () => {
    const s = await ingest(gw.url, photos);
    expect(s.body).toMatchObject({ state: 'completed', total: 8, done: 7, failed: 1, skipped: 0, refused: 2, batches_total: 3, batches_done: 3 });
    expect(s.body.failed_sample.map((f: { path: string }) => f.path)).toContain(join(photos, 'red', 'broken.jpg'));
    expect(await gw.gw.deps.store.count('clip_t')).toBe(7);
    const again = await ingest(gw.url, photos);
    expect(again.body).toMatchObject({ state: 'completed', done: 0, skipped: 7, failed: 1 });
  });
});

describe('search (fake embedder, real store)', () => {
  it('finds red images for "red" with CLIP and the documented shape', async () => {
    const r = await search(gw.url, { query: 'something red', limit: 3 }, { 'x-correlation-id': 'test-corr-1' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-correlation-id')).toBe('test-corr-1');
    expect(clip.lastCorrelationId).toBe('test-corr-1');
    expect((await search(gw.url, { query: 'red', limit: 1 })).headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body).toMatchObject({ model: 'clip', collection: 'clip_t', total: 3, query: 'something red', rollout: { reason: 'bucket_above_percentage', fallback: false } });
    expect(r.body.results.map((x: { asset: { category: string } }) => x.asset.category)).toEqual(['red', 'red', 'red']);
    expect(r.body.results[0].asset.thumbnail_url).toMatch(/^\/api\/v1\/images\/[0-9a-f]{32}\/thumbnail$/);
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
    expect(new Set(r.body.results.map((x: { asset: { category: string } }) => x.asset.category))).toEqual(new Set(['blue', 'green']));
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
    const notJson = await call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', { body: '{"query": "red",', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatchObject({ message: 'request body is not valid JSON', details: { field: 'body' } });
    const noType = await call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', { body: 'query=red' });
    expect(noType.status).toBe(400);
    const big = await call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', { json: { query: 'x'.repeat(100_000) } });
    expect(big.status).toBe(413);
    expect(big.body.error.details.field).toBe('body');
    const longQ = await search(gw.url, { query: 'x'.repeat(1001) });
    expect(longQ.body.error.details.field).toBe('query');
  });

  it('searches by uploaded image and refuses non-images, missing files and oversized uploads', async () => {
    const img = await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 0, g: 0, b: 240 } } }).jpeg().toBuffer();
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
    expect((await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: lim })).body.error.details.field).toBe('limit');
    const other = new FormData();
    other.append('picture', new Blob([img], { type: 'image/jpeg' }), 'q.jpg');
    expect((await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: other })).status).toBe(400);
  });

  it('finds similar assets from the stored vector, and 404s with a reason for unknown ids', async () => {
    const red = await search(gw.url, { query: 'red', limit: 1 });
    const id = red.body.results[0].asset.id as string;
    const r = await call(gw.url, '/api/v1/search/similar/{asset_id}', 'GET', `/api/v1/search/similar/${id}?limit=2`);
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { asset: { id: string; category: string } }) => x.asset.category)).toEqual(['red', 'red']);
    expect(r.body.results.map((x: { asset: { id: string } }) => x.asset.id)).not.toContain(id);
    const missing = await call(gw.url, '/api/v1/search/similar/{asset_id}', 'GET', `/api/v1/search/similar/${'0'.repeat(32)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.details).toMatchObject({ reason: 'no_vector_in_routed_collection', collection: 'clip_t' });
    expect((await call(gw.url, '/api/v1/search/similar/{asset_id}', 'GET', '/api/v1/search/similar/not-an-id')).body.error.details.field).toBe('asset_id');
    expect((await call(gw.url, '/api/v1/search/similar/{asset_id}', 'GET', `/api/v1/search/similar/${id}?limit=abc`)).body.error.details.field).toBe('limit');
  });
});

describe('assets and images (real store, real files)', () => {
  it('lists with a cursor, gets one asset, serves the file and a disk-cached thumbnail', async () => {
    const p1 = await call(gw.url, '/api/v1/assets', 'GET', '/api/v1/assets?limit=4');
    expect(p1.status).toBe(200);
    expect(p1.body.total).toBe(7);
    expect(p1.body.assets).toHaveLength(4);
    const p2 = await call(gw.url, '/api/v1/assets', 'GET', `/api/v1/assets?limit=4&cursor=${encodeURIComponent(p1.body.next_cursor)}`);
    const ids = [...p1.body.assets, ...p2.body.assets].map((a: { id: string }) => a.id);
    expect(new Set(ids).size).toBe(7);
    const one = await call(gw.url, '/api/v1/assets/{asset_id}', 'GET', `/api/v1/assets/${ids[0]}`);
    expect(one.body).toMatchObject({ asset: { id: ids[0] }, collections: { clip: true, siglip: false } });
    expect(one.body.asset.width).toBeGreaterThan(0);
    expect((await call(gw.url, '/api/v1/assets/{asset_id}', 'GET', `/api/v1/assets/${'f'.repeat(32)}`)).status).toBe(404);
    expect((await call(gw.url, '/api/v1/assets', 'GET', '/api/v1/assets?limit=0')).body.error.details.field).toBe('limit');
    const t1 = await fetch(`${gw.url}/api/v1/images/${ids[0]}/thumbnail`);
    expect(t1.status).toBe(200);
    expect(t1.headers.get('content-type')).toBe('image/jpeg');
    expect(t1.headers.get('x-thumbnail-cache')).toBe('miss');
    expect((await sharp(Buffer.from(await t1.arrayBuffer())).metadata()).format).toBe('jpeg');
    const t2 = await fetch(`${gw.url}/api/v1/images/${ids[0]}/thumbnail`);
    expect(t2.headers.get('x-thumbnail-cache')).toBe('hit');
    const f = await fetch(`${gw.url}/api/v1/images/${ids[0]}/file`);
    expect(f.status).toBe(200);
    expect(f.headers.get('content-type')).toBe('image/png');
    expect((await fetch(`${gw.url}/api/v1/images/${'a'.repeat(32)}/file`)).status).toBe(404);
  });
});

describe('rollout and fallback (fake embedders, real store)', () => {
  it('admin rollout endpoint needs the token and shows flags, source and coverage', async () => {
    expect((await call(gw.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout')).status).toBe(401);
    const r = await call(gw.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ flags: { use_siglip: false, siglip_rollout_percentage: 0, siglip_min_coverage: 1 }, source: 'env', siglip_servable: false });
  });

  it('forced SigLIP without a SigLIP collection falls back to CLIP and says so; after dual-write ingest it serves SigLIP', async () => {
    const g = await startTestGateway(env({ USE_SIGLIP: 'true' }), { embedders: { clip, siglip } });
    try {
      const before = await search(g.url, { query: 'red', user_id: 7 });
      expect(before.body).toMatchObject({ model: 'clip', collection: 'clip_t', rollout: { bucket: 7, reason: 'fallback:siglip_collection_missing', fallback: true } });
      expect(before.body.results).toHaveLength(7);
      // Create the SigLIP collection (empty): still not ready (coverage 0 < 1).
      await g.gw.deps.store.ensureCollection({ ...(await import('@image-search/collection-schema')).collectionSchema('siglip', { name: 'siglip_t', vectorSize: 4 }) });
      await call(g.url, '/api/v1/admin/rollout/refresh', 'POST', '/api/v1/admin/rollout/refresh', { token: TOKEN });
      expect((await search(g.url, { query: 'red', user_id: 7 })).body.rollout.reason).toBe('fallback:siglip_coverage_below_minimum');
      // Re-ingesting fills only the SigLIP side (CLIP unchanged): the dual write.
      const s = await ingest(g.url, photos);
      expect(s.body).toMatchObject({ state: 'completed', done: 7, failed: 1 });
      expect(await g.gw.deps.store.count('siglip_t')).toBe(7);
      const rollout = await call(g.url, '/api/v1/admin/rollout/refresh', 'POST', '/api/v1/admin/rollout/refresh', { token: TOKEN });
      expect(rollout.body).toMatchObject({ coverage: { clip_points: 7, siglip_points: 7, ratio: 1 }, siglip_servable: true });
      const after = await search(g.url, { query: 'red', user_id: 7 });
      expect(after.body).toMatchObject({ model: 'siglip', collection: 'siglip_t', rollout: { reason: 'forced', fallback: false } });
      expect(after.body.results[0].asset.category).toBe('red');

      // SigLIP embedder down: the breaker falls back to CLIP, marked in the response and metrics.
      siglip.down = true;
      const fb = await search(g.url, { query: 'blue', user_id: 7 });
      expect(fb.body).toMatchObject({ model: 'clip', rollout: { reason: 'fallback:siglip_embedder_error', fallback: true } });
      expect(fb.body.results[0].asset.category).toBe('blue');
      for (let i = 0; i < 3; i++) await search(g.url, { query: `green ${i}`, user_id: 7 });
      expect((await search(g.url, { query: 'yellow', user_id: 7 })).body.rollout.reason).toBe('fallback:siglip_embedder_unavailable');
      const metrics = await (await fetch(`${g.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_rollout_fallbacks_total\{reason="siglip_embedder_error"\} [1-9]/);
      expect(metrics).toMatch(/gateway_rollout_fallbacks_total\{reason="siglip_embedder_unavailable"\} [1-9]/);
      expect(metrics).toMatch(/gateway_embedder_breaker_open\{model="siglip"\} 1/);

      // No embedder at all: 503 with Retry-After (a cached query still answers).
      clip.down = true;
      const none = await search(g.url, { query: 'purple things', user_id: 7 });
      expect(none.status).toBe(503);
      expect(Number(none.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(none.body.error.code).toBe('UNAVAILABLE');
    } finally {
      siglip.down = false;
      clip.down = false;
      await g.close();
    }
  });

  it('routes by user id with the corrected seed example (10%: user 23 → CLIP, user 5 → SigLIP), sessions stay put', async () => {
    const g = await startTestGateway(env({ SIGLIP_ROLLOUT_PERCENTAGE: '10' }), { embedders: { clip, siglip } });
    try {
      expect((await search(g.url, { query: 'red', user_id: 23 })).body).toMatchObject({ model: 'clip', rollout: { bucket: 23, reason: 'bucket_above_percentage' } });
      expect((await search(g.url, { query: 'red', user_id: 5 })).body).toMatchObject({ model: 'siglip', rollout: { bucket: 5, reason: 'bucket_below_percentage' } });
      expect((await search(g.url, { query: 'red', user_id: '9007199254740993' })).body.rollout.bucket).toBe(93);
      expect((await search(g.url, { query: 'red', user_id: -7 })).body.rollout.bucket).toBe(93);
      const s1 = await search(g.url, { query: 'red' }, { 'x-session-id': 'sess-42' });
      const s2 = await search(g.url, { query: 'blue' }, { cookie: 'isearch_sid=sess-42' });
      expect(s1.body.rollout).toMatchObject({ bucket_source: 'session_id' });
      expect(s2.body.rollout.bucket).toBe(s1.body.rollout.bucket);
    } finally {
      await g.close();
    }
  });
});

describe('admin, limits, system endpoints', () => {
  it('with no ADMIN_TOKEN the admin API is disabled, not open; rate limits answer 429 with Retry-After; big uploads 413', async () => {
    const g = await startTestGateway(env({ ADMIN_TOKEN: '', RATE_LIMIT_SEARCH_PER_MIN: '2', MAX_UPLOAD_BYTES: '2048' }), { embedders: { clip, siglip } });
    try {
      const r = await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: 'anything' });
      expect(r.status).toBe(403);
      expect(r.body.error.message).toMatch(/admin API is disabled: set ADMIN_TOKEN/);
      expect((await fetch(`${g.url}/api/v1/admin/siglip/status`)).status).toBe(403);
      expect((await search(g.url, { query: 'red' })).status).toBe(200);
      expect((await search(g.url, { query: 'red' })).status).toBe(200);
      const limited = await search(g.url, { query: 'red' });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      const fd = new FormData();
      fd.append('image', new Blob([new Uint8Array(5000)], { type: 'image/png' }), 'big.png');
      const big = await call(g.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: fd });
      expect(big.status).toBe(413);
      expect(big.body.error.details.field).toBe('image');
    } finally {
      await g.close();
    }
  });

  it('applies a flags file (ConfigMap-style KEY=value) live and shows its source', async () => {
    const flagsFile = join(root, 'flags.env');
    writeFileSync(flagsFile, 'SIGLIP_ROLLOUT_PERCENTAGE=100\n');
    const g = await startTestGateway(env({ FLAGS_FILE: flagsFile, FLAGS_POLL_MS: '50' }), { embedders: { clip, siglip } });
    try {
      const r = await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN });
      expect(r.body).toMatchObject({ flags: { siglip_rollout_percentage: 100 }, source: 'env+file', origins: { siglip_rollout_percentage: 'file' }, flags_file: { path: flagsFile, last_error: null } });
      writeFileSync(flagsFile, 'SIGLIP_ROLLOUT_PERCENTAGE=abc\n');
      await waitFor('bad flags file noticed', async () => (await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN })).body.flags_file.last_error !== null, 5000, 50);
      const bad = await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN });
      expect(bad.body.flags.siglip_rollout_percentage).toBe(100);
      expect(bad.body.flags_file.last_error).toMatch(/SIGLIP_ROLLOUT_PERCENTAGE.*keeping the last good flags/);
      writeFileSync(flagsFile, 'SIGLIP_ROLLOUT_PERCENTAGE: 0\n');
      await waitFor('good flags file applied', async () => (await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN })).body.flags.siglip_rollout_percentage === 0, 5000, 50);
    } finally {
      await g.close();
    }
  });

  it('serves health, ready, metrics, the OpenAPI document, the page, and JSON 404s', async () => {
    expect((await call(gw.url, '/health', 'GET', '/health')).body).toEqual({ status: 'ok' });
    const ready = await call(gw.url, '/ready', 'GET', '/ready');
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    for (const m of ['gateway_http_requests_total', 'gateway_http_request_duration_seconds', 'gateway_search_results', 'gateway_query_cache_total', 'gateway_rollout_fallbacks_total']) expect(metrics).toContain(m);
    expect(metrics).toMatch(/gateway_http_requests_total\{route="\/api\/v1\/search",method="POST",status="200",model="clip"\} \d+/);
    expect(metrics).toMatch(/gateway_query_cache_total\{model="clip",result="hit"\} [1-9]/);
    const doc = (await (await fetch(`${gw.url}/api/v1/openapi.json`)).json()) as { openapi: string };
    expect(doc.openapi).toBe('3.1.0');
    const page = await fetch(`${gw.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('id="search-form"');
    const nf = await fetch(`${gw.url}/api/v1/nothing`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('admin SigLIP re-embedding status is mounted under the admin token', async () => {
    expect((await fetch(`${gw.url}/api/v1/admin/siglip/status`)).status).toBe(401);
    const r = await fetch(`${gw.url}/api/v1/admin/siglip/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toHaveProperty('state');
  });
});
