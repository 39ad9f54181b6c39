// Integration: REAL clip-embedder and siglip-embedder processes (tiny 'colour' ONNX models in
// onnxruntime, gRPC on loopback), the REAL embedded vector store (LanceDB, temp DATA_DIR), REAL
// Redis + BullMQ ingestion; the gateway app in-process on a loopback port, wired like main.ts.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { EmbedderClient } from '@image-search/embedder-client';
import { startEmbedderProcess, type TestProcess, uniqueName } from '@image-search/testing';
import { ingest as ingestAndWait } from '../test/app-fixture.js';
import { call, type Res } from '../test/http.js';

import { startTestGateway, tearDownStack, type RunningGateway } from '../test/test-gateway.js';

const root = mkdtempSync(join(tmpdir(), 'gw-int-'));
const photos = join(root, 'photos');
const prefix = uniqueName('gw-int');
const TOKEN = 'int-token';
const COLOURS: Record<string, [number, number, number]> = {
  red: [230, 20, 20],
  blue: [20, 50, 230],
  green: [20, 170, 40],
  yellow: [250, 230, 20],
};
const procs: TestProcess[] = [];
let clipAddr = '';
let siglipAddr = '';
let siglipProc: TestProcess;
let gw: RunningGateway;

async function startEmbedder(family: 'clip' | 'siglip'): Promise<{ proc: TestProcess; addr: string }> {
  const e = await startEmbedderProcess(family, { env: { LOG_LEVEL: 'debug' } });
  procs.push(e.proc);
  return e;
}

const ingest = (base: string) => ingestAndWait(base, photos, { token: TOKEN });

const search = (json: unknown, headers: Record<string, string> = {}) =>
  call(gw.url, '/api/v1/search', 'POST', '/api/v1/search', { json, headers });
const categories = (r: Res) => r.body.results.map((x: { asset: { category: string } }) => x.asset.category);

beforeAll(async () => {
  for (const [name, rgb] of Object.entries(COLOURS)) {
    mkdirSync(join(photos, name), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const jitter = (v: number) => Math.max(0, Math.min(255, v + (i - 1) * 8));
      await sharp({
        create: {
          width: 40 + i * 8,
          height: 32,
          channels: 3,
          background: { r: jitter(rgb[0]), g: jitter(rgb[1]), b: jitter(rgb[2]) },
        },
      })
        .jpeg()
        .toFile(join(photos, name, `${name}-${i}.jpg`));
    }
  }
  const [c, s] = await Promise.all([startEmbedder('clip'), startEmbedder('siglip')]);
  clipAddr = c.addr;
  siglipAddr = s.addr;
  siglipProc = s.proc;
  gw = await startTestGateway({
    CLIP_EMBEDDER_URL: clipAddr,
    SIGLIP_EMBEDDER_URL: siglipAddr,
    USE_SIGLIP: 'true',
    ASSET_ROOTS: photos,
    DATA_DIR: join(root, 'data'),
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN: TOKEN,
    COVERAGE_REFRESH_MS: '600000',
    BREAKER_FAILURES: '2',
    EMBEDDER_DEADLINE_MS: '3000',
  });
}, 180_000);

afterAll(() => tearDownStack({ gw, procs, prefix, root }));

describe('gateway with real embedders, store and Redis', () => {
  it('ingests into CLIP; USE_SIGLIP before re-embedding falls back to CLIP instead of returning nothing', async () => {
    const s = await ingest(gw.url);
    expect(s.body).toMatchObject({ state: 'completed', total: 12, done: 12, failed: 0 });
    const r = await search({ query: 'a red photo', limit: 3, user_id: 42 }, { 'x-correlation-id': 'int-corr-7' });
    expect(r.body).toMatchObject({
      model: 'clip-vit-b32-openai',
      rollout: { reason: 'fallback:target_collection_missing', fallback: true },
    });
    expect(categories(r)).toEqual(['red', 'red', 'red']);
    expect(r.headers.get('x-correlation-id')).toBe('int-corr-7');
  });

  it('dual-writes into a new SigLIP collection, then serves SigLIP once coverage is complete', async () => {
    const info = await new EmbedderClient({ address: siglipAddr }).info();
    await gw.gw.deps.store.ensureCollection(
      collectionSchema('siglip', { name: 'image_assets_siglip', vectorSize: info.embeddingDim }),
    );
    const s = await ingest(gw.url);
    expect(s.body).toMatchObject({ state: 'completed', done: 12, skipped: 0 });
    const rollout = await call(gw.url, '/api/v1/admin/rollout/refresh', 'POST', '/api/v1/admin/rollout/refresh', {
      token: TOKEN,
    });
    expect(rollout.body).toMatchObject({
      coverage: { clip_points: 12, siglip_points: 12, ratio: 1 },
      siglip_servable: true,
    });
    for (const colour of ['blue', 'green', 'yellow']) {
      const r = await search({ query: colour, limit: 3 });
      expect(r.body.model).toBe('siglip-vit-b16-webli');
      expect(categories(r), colour).toEqual([colour, colour, colour]);
    }
    const img = await sharp({ create: { width: 30, height: 30, channels: 3, background: { r: 25, g: 165, b: 45 } } })
      .png()
      .toBuffer();
    const fd = new FormData();
    fd.append('image', new Blob([img], { type: 'image/png' }), 'g.png');
    fd.append('limit', '3');
    const byImage = await call(gw.url, '/api/v1/search/image', 'POST', '/api/v1/search/image', { body: fd });
    expect(byImage.body.model).toBe('siglip-vit-b16-webli');
    expect(categories(byImage)).toEqual(['green', 'green', 'green']);
    const again = await ingest(gw.url);
    expect(again.body).toMatchObject({ done: 0, skipped: 12 });
  });

  it('SigLIP embedder killed: searches fall back to CLIP (circuit breaker), still correct', async () => {
    await siglipProc.stop('SIGKILL');
    // A cached query embedding still answers with SigLIP: no embedder call is needed.
    expect((await search({ query: 'blue', limit: 3 })).body).toMatchObject({
      model: 'siglip-vit-b16-webli',
      cached_embedding: true,
    });
    const r = await search({ query: 'something blue', limit: 3 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      model: 'clip-vit-b32-openai',
      rollout: { reason: 'fallback:target_embedder_error', fallback: true },
    });
    expect(categories(r)).toEqual(['blue', 'blue', 'blue']);
    await search({ query: 'very yellow' });
    const open = await search({ query: 'green grass', limit: 1 });
    expect(open.body.rollout.reason).toBe('fallback:target_embedder_unavailable');
    expect(categories(open)).toEqual(['green']);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_rollout_fallbacks_total\{reason="target_embedder_error"\} [1-9]/);
  });
});
