// Gateway rollout, fallback, admin, limits and system endpoints with the fake embedders (in-process
// colour vectors) over the REAL embedded vector store (LanceDB in a temp dir) and REAL Redis + BullMQ.
// Every response is validated against the OpenAPI document.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { waitFor } from '@image-search/testing';
import { AppFixture, ingest, search, TOKEN } from '../test/app-fixture.js';
import { call } from '../test/http.js';

const fx = new AppFixture();
const { clip, siglip, photos, root } = fx;
let gw: AppFixture['gw'];

beforeAll(async () => {
  await fx.setUp({ ingest: true });
  gw = fx.gw;
});
afterAll(() => fx.tearDown());

describe('rollout and fallback (fake embedders, real store)', () => {
  it('admin rollout endpoint needs the token and shows flags, source and coverage', async () => {
    expect((await call(gw.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout')).status).toBe(401);
    const r = await call(gw.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      flags: { use_siglip: false, siglip_rollout_percentage: 0, siglip_min_coverage: 1 },
      source: 'env',
      siglip_servable: false,
    });
  });

  it('forced SigLIP without a SigLIP collection falls back to CLIP and says so; after dual-write ingest it serves SigLIP', async () => {
    const g = await fx.start({ USE_SIGLIP: 'true' });
    try {
      const before = await search(g.url, { query: 'red', user_id: 7 });
      expect(before.body).toMatchObject({
        model: 'clip-vit-b32-openai',
        collection: 'clip_t',
        rollout: { bucket: 7, reason: 'fallback:target_collection_missing', fallback: true },
      });
      expect(before.body.results).toHaveLength(7);
      // Create the SigLIP collection (empty): still not ready (coverage 0 < 1).
      await g.gw.deps.store.ensureCollection({
        ...collectionSchema('siglip', {
          name: 'siglip_t',
          vectorSize: 4,
        }),
      });
      await call(g.url, '/api/v1/admin/rollout/refresh', 'POST', '/api/v1/admin/rollout/refresh', { token: TOKEN });
      expect((await search(g.url, { query: 'red', user_id: 7 })).body.rollout.reason).toBe(
        'fallback:target_coverage_below_minimum',
      );
      // Re-ingesting fills only the SigLIP side (CLIP unchanged): the dual write.
      const s = await ingest(g.url, photos);
      expect(s.body).toMatchObject({ state: 'completed', done: 7, failed: 1 });
      expect(await g.gw.deps.store.count('siglip_t')).toBe(7);
      const rollout = await call(g.url, '/api/v1/admin/rollout/refresh', 'POST', '/api/v1/admin/rollout/refresh', {
        token: TOKEN,
      });
      expect(rollout.body).toMatchObject({
        coverage: { clip_points: 7, siglip_points: 7, ratio: 1 },
        siglip_servable: true,
      });
      const after = await search(g.url, { query: 'red', user_id: 7 });
      expect(after.body).toMatchObject({
        model: 'siglip-vit-b16-webli',
        collection: 'siglip_t',
        rollout: { reason: 'forced', fallback: false },
      });
      expect(after.body.results[0].asset.category).toBe('red');
      expect(after.body.degraded).toBeNull();

      // CLIP embedder down (crashed and restarting) under the default 0 % rollout: the covered SigLIP
      // collection answers, and the response and /ready say so; the gateway stays ready.
      const d = await fx.start({});
      try {
        clip.down = true;
        const viaSiglip = await search(d.url, { query: 'red', user_id: 7 });
        expect(viaSiglip.body).toMatchObject({
          model: 'siglip-vit-b16-webli',
          rollout: { reason: 'fallback:source_embedder_error', fallback: true },
          degraded: { unavailable: ['clip-vit-b32-openai'], answered_by: 'siglip-vit-b16-webli' },
        });
        expect(viaSiglip.body.degraded.message).toMatch(/clip-vit-b32-openai embedder is unavailable.*from siglip/);
        expect(viaSiglip.body.results[0].asset.category).toBe('red');
        expect(await call(d.url, '/ready', 'GET', '/ready')).toMatchObject({
          status: 200,
          body: {
            status: 'ready',
            degraded: true,
            checks: { clip_embedder: false, siglip_embedder: true, search_embedder: true, vector_store: true },
          },
        });
      } finally {
        clip.down = false;
        await d.close();
      }

      // SigLIP embedder down: the breaker falls back to CLIP, marked in the response and metrics.
      siglip.down = true;
      const fb = await search(g.url, { query: 'blue', user_id: 7 });
      expect(fb.body).toMatchObject({
        model: 'clip-vit-b32-openai',
        rollout: { reason: 'fallback:target_embedder_error', fallback: true },
        degraded: { unavailable: ['siglip-vit-b16-webli'], answered_by: 'clip-vit-b32-openai' },
      });
      expect(fb.body.results[0].asset.category).toBe('blue');
      for (let i = 0; i < 3; i++) await search(g.url, { query: `green ${i}`, user_id: 7 });
      expect((await search(g.url, { query: 'yellow', user_id: 7 })).body.rollout.reason).toBe(
        'fallback:target_embedder_unavailable',
      );
      const metrics = await (await fetch(`${g.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_rollout_fallbacks_total\{reason="target_embedder_error"\} [1-9]/);
      expect(metrics).toMatch(/gateway_rollout_fallbacks_total\{reason="target_embedder_unavailable"\} [1-9]/);
      expect(metrics).toMatch(/gateway_embedder_breaker_open\{model="siglip-vit-b16-webli"\} 1/);

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
    const g = await fx.start({ SIGLIP_ROLLOUT_PERCENTAGE: '10' });
    try {
      expect((await search(g.url, { query: 'red', user_id: 23 })).body).toMatchObject({
        model: 'clip-vit-b32-openai',
        rollout: { bucket: 23, reason: 'bucket_above_percentage' },
      });
      expect((await search(g.url, { query: 'red', user_id: 5 })).body).toMatchObject({
        model: 'siglip-vit-b16-webli',
        rollout: { bucket: 5, reason: 'bucket_below_percentage' },
      });
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

describe('client disconnects (fake embedder)', () => {
  it('cancels the embedder call when the client goes away, without counting it against the breaker', async () => {
    clip.textDelayMs = 2000;
    try {
      const before = clip.aborted;
      await expect(
        fetch(`${gw.url}/api/v1/search`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: 'slow query' }),
          signal: AbortSignal.timeout(150),
        }),
      ).rejects.toThrow();
      await waitFor('embedder call aborted', () => clip.aborted === before + 1, 3000, 20);
      expect(gw.gw.deps.breakers.get('clip-vit-b32-openai').state).toBe('closed');
    } finally {
      clip.textDelayMs = 0;
    }
  });
});

describe('overload (fake embedder)', () => {
  it('CLIP shedding load answers 503 with Retry-After 1 and does not open the CLIP breaker', async () => {
    clip.failWith = 'RESOURCE_EXHAUSTED';
    try {
      for (let i = 0; i < 5; i++) {
        const r = await search(gw.url, { query: `busy ${i}` });
        expect(r.status).toBe(503);
        expect(r.body.error.code).toBe('RESOURCE_EXHAUSTED');
        expect(r.headers.get('retry-after')).toBe('1');
      }
      expect(gw.gw.deps.breakers.get('clip-vit-b32-openai').state).toBe('closed');
    } finally {
      clip.failWith = undefined;
    }
    expect((await search(gw.url, { query: 'busy over' })).status).toBe(200);
  });
});

describe('admin, limits, system endpoints', () => {
  it('with no ADMIN_TOKEN the admin API is disabled, not open; rate limits answer 429 with Retry-After; big uploads 413', async () => {
    // Its own prefix: the counters live in Redis, and the fixture's other gateways searched already.
    const g = await fx.start({
      ADMIN_TOKEN: '',
      RATE_LIMIT_SEARCH_PER_MIN: '2',
      MAX_UPLOAD_BYTES: '2048',
      QUEUE_PREFIX: `${fx.prefix}-limits`,
    });
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
      expect(limited.headers.get('ratelimit-policy')).toMatch(/^"search"; q=2; w=60;/);
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
    const g = await fx.start({ FLAGS_FILE: flagsFile, FLAGS_POLL_MS: '50' });
    try {
      const r = await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN });
      expect(r.body).toMatchObject({
        flags: { siglip_rollout_percentage: 100 },
        source: 'env+file',
        origins: { siglip_rollout_percentage: 'file' },
        flags_file: { path: flagsFile, last_error: null },
      });
      writeFileSync(flagsFile, 'SIGLIP_ROLLOUT_PERCENTAGE=abc\n');
      await waitFor(
        'bad flags file noticed',
        async () =>
          (await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN })).body.flags_file
            .last_error !== null,
        5000,
        50,
      );
      const bad = await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN });
      expect(bad.body.flags.siglip_rollout_percentage).toBe(100);
      expect(bad.body.flags_file.last_error).toMatch(/SIGLIP_ROLLOUT_PERCENTAGE.*keeping the last good flags/);
      writeFileSync(flagsFile, 'SIGLIP_ROLLOUT_PERCENTAGE: 0\n');
      await waitFor(
        'good flags file applied',
        async () =>
          (await call(g.url, '/api/v1/admin/rollout', 'GET', '/api/v1/admin/rollout', { token: TOKEN })).body.flags
            .siglip_rollout_percentage === 0,
        5000,
        50,
      );
    } finally {
      await g.close();
    }
  });

  it('serves health, ready, metrics, the OpenAPI document, the page, and JSON 404s', async () => {
    expect((await call(gw.url, '/health', 'GET', '/health')).body).toEqual({ status: 'ok' });
    await search(gw.url, { query: 'metric red', limit: 5 });
    await search(gw.url, { query: 'metric red', limit: 6 });
    const ready = await call(gw.url, '/ready', 'GET', '/ready');
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    for (const m of [
      'gateway_http_requests_total',
      'gateway_http_request_duration_seconds',
      'gateway_search_results',
      'gateway_query_cache_total',
      'gateway_rollout_fallbacks_total',
    ])
      expect(metrics).toContain(m);
    expect(metrics).toMatch(
      /gateway_http_requests_total\{route="\/api\/v1\/search",method="POST",status="200",model="clip-vit-b32-openai"\} \d+/,
    );
    expect(metrics).toMatch(/gateway_query_cache_total\{model="clip-vit-b32-openai",result="hit"\} [1-9]/);
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
