// Integration: first ingest embeds from the preview. A REAL clip-embedder process (tiny ONNX model,
// gRPC on loopback), the REAL embedded store and catalogue, REAL Redis + BullMQ ingestion, the gateway
// in-process. What the embedder was sent is read off the stored vector: it equals, to the last bits a
// batch can move, the embedding of the preview file (asked of the same embedder), not that of the original.
// Previews render in the gateway's killable decode processes under MAX_DECODE_MS: the same bytes as in-process.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash } from '@image-search/asset-catalogue';
import { EmbedderClient } from '@image-search/embedder-client';
import { DEFAULT_PREVIEW_OPTIONS, renderPreview } from '@image-search/image-formats';
import { largePhoto, manyScanJpeg, startEmbedderProcess, uniqueName, type TestProcess } from '@image-search/testing';
import { ingest } from '../test/app-fixture.js';
import { call, type Res } from '../test/http.js';
import { startTestGateway, tearDownStack, type RunningGateway } from '../test/test-gateway.js';
import { assetIdOf } from './ingest/ingest-batch.js';
import { thumbKeyOf } from './thumbnails/thumbnail-store.js';

const root = mkdtempSync(join(tmpdir(), 'gw-ingest-preview-'));
const photos = join(root, 'photos');
const previewDir = join(root, 'data', 'previews');
const prefix = uniqueName('gw-ingest-preview');
const TOKEN = 'ingest-preview-token';
const procs: TestProcess[] = [];
let gw: RunningGateway;
let clip: EmbedderClient;
let report: Res;
const file = (name: string) => join(photos, 'p', name);
// The gateway's MAX_DECODE_MS: the 3 MP photo's preview takes a small fraction of it, the 16 MP many-scan JPEG's
// several times it. (A 4 MP one made a preview in 1.7 s at load 7, so a 3 s budget passed it on a quiet machine.)
const BUDGET_MS = 1500;

/** Seeded colour noise: fine detail, so the preview's pixels differ visibly from the original's at the model input. */
function noise(w: number, h: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 255;
  }
  return b;
}
const jpegOf = (w: number, h: number, seed: number) =>
  sharp(noise(w, h, seed), { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 92 })
    .toBuffer();

async function embed(data: Buffer): Promise<Float32Array> {
  const [r] = await clip.embedImages([{ data, id: 'x' }], { deadlineMs: 60_000 });
  if (!r?.ok) throw new Error(`embedding failed: ${r?.message}`);
  return r.vector;
}
const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

async function stored(name: string): Promise<Float32Array> {
  const collection = gw.gw.deps.collections.clip;
  const [p] = await gw.gw.deps.store.retrieve(collection, [assetIdOf(file(name))], { withVectors: true });
  expect(p?.vector, `a vector for ${name}`).toBeTruthy();
  return Float32Array.from(p!.vector!);
}

beforeAll(async () => {
  mkdirSync(join(photos, 'p'), { recursive: true });
  // 3 MP (short side 1500 >= 2 x 512): gets a preview. 600x400: too small for one, the original is sent.
  writeFileSync(file('large.jpg'), await largePhoto(await jpegOf(200, 150, 7), { width: 2000, height: 1500 }));
  writeFileSync(file('small.jpg'), await jpegOf(600, 400, 11));
  // Over the embedder's MAX_IMAGE_PIXELS (16 MP): refused in its words, though its preview would be small.
  writeFileSync(file('over.jpg'), await largePhoto(await jpegOf(200, 150, 13), { width: 4200, height: 4000 }));
  // A valid header over truncated data, large enough for a preview: the decoder refuses it, so does the embedder.
  const whole = await jpegOf(2000, 1500, 17);
  writeFileSync(file('truncated.jpg'), whole.subarray(0, Math.floor(whole.length * 0.6)));
  // 16 MP (within the embedder's limit), 2,647 progressive scans: its preview took 4.6 s at 9 MP and load 7.
  writeFileSync(file('slow.jpg'), manyScanJpeg(4000, 4000));
  const e = await startEmbedderProcess('clip', { kind: 'random', env: { MAX_IMAGE_PIXELS: '16000000' } });
  procs.push(e.proc);
  clip = new EmbedderClient({ address: e.addr });
  gw = await startTestGateway({
    CLIP_EMBEDDER_URL: e.addr,
    SIGLIP_EMBEDDER_URL: '',
    ASSET_ROOTS: photos,
    DATA_DIR: join(root, 'data'),
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN: TOKEN,
    COVERAGE_REFRESH_MS: '600000',
    MAX_DECODE_MS: String(BUDGET_MS),
  });
  report = await ingest(gw.url, photos, { token: TOKEN });
}, 180_000);

afterAll(async () => {
  clip?.close();
  await tearDownStack({ gw, procs, prefix, root });
});

const previewOf = (name: string) => {
  const id = assetIdOf(file(name));
  const key = contentHash(readFileSync(file(name))).slice('sha256:'.length);
  return join(previewDir, id.slice(0, 2), id, `${key}.jpg`);
};

describe('first ingest embeds from the preview (real clip embedder, store, catalogue, Redis)', () => {
  it('a large photo: the embedder gets the preview (stored vector = its embedding); content hash and size are the original’s', async () => {
    expect(report.body).toMatchObject({ state: 'completed', added: 2, failed: 3 });
    const preview = readFileSync(previewOf('large.jpg'));
    expect(await sharp(preview).metadata()).toMatchObject({ width: 683, height: 512 });
    // Rendered in a decode process: byte for byte what rendering in the gateway's own process gives.
    const inProcess = await renderPreview(readFileSync(file('large.jpg')), DEFAULT_PREVIEW_OPTIONS);
    expect(inProcess && preview.equals(inProcess.data)).toBe(true);
    const [vec, fromPreview, fromOriginal] = [
      await stored('large.jpg'),
      await embed(preview),
      await embed(readFileSync(file('large.jpg'))),
    ];
    // The two candidates are told apart: the preview's pixels are not the original's at the model input.
    expect(maxDiff(fromPreview, fromOriginal)).toBeGreaterThan(1e-4);
    expect(maxDiff(vec, fromPreview)).toBeLessThan(1e-5);
    const [p] = await gw.gw.deps.store.retrieve(gw.gw.deps.collections.clip, [assetIdOf(file('large.jpg'))]);
    expect(p!.payload).toMatchObject({
      content_hash: contentHash(readFileSync(file('large.jpg'))),
      width: 2000,
      height: 1500,
      file_size: readFileSync(file('large.jpg')).length,
    });
    const [entry] = await gw.gw.deps.catalogue.get([assetIdOf(file('large.jpg'))]);
    expect(entry?.contentHash).toBe(contentHash(readFileSync(file('large.jpg'))));
  });

  it('a small photo gets no preview and the embedder gets the original', async () => {
    const id = assetIdOf(file('small.jpg'));
    expect(readdirSync(join(previewDir, id.slice(0, 2), id))).toEqual([expect.stringMatching(/\.none$/)]);
    const [vec, fromOriginal] = [await stored('small.jpg'), await embed(readFileSync(file('small.jpg')))];
    expect(maxDiff(vec, fromOriginal)).toBeLessThan(1e-5);
  });

  it('an original over the embedder’s pixel limit and a damaged one fail in the embedder’s words, keeping no preview', async () => {
    const modelId = gw.gw.deps.registry.pair.from.id;
    const reasonOf = await failureReasons();
    const [direct] = await clip.embedImages([{ data: readFileSync(file('over.jpg')), id: 'x' }]);
    expect(direct).toMatchObject({ ok: false, message: expect.stringMatching(/^TOO_MANY_PIXELS: /) });
    // The gateway checks the original against the limits the embedder reports, as the embedder would have.
    expect(reasonOf('photos/p/over.jpg')).toBe(`${modelId} embedder: ${direct!.ok ? '' : direct!.message}`);
    expect(reasonOf('photos/p/truncated.jpg')).toMatch(new RegExp(`^${modelId} embedder: CORRUPT_IMAGE`));
    for (const name of ['over.jpg', 'truncated.jpg']) {
      const id = assetIdOf(file(name));
      expect(() => readdirSync(join(previewDir, id.slice(0, 2), id))).toThrow();
    }
  });

  it('a many-scan JPEG over MAX_DECODE_MS fails at ingest with DECODE_TIMEOUT in the embedders’ words; nothing is stored for it', async () => {
    const reasonOf = await failureReasons();
    // Killed in the gateway's decode process before any embedder saw it: the embedders' message, no model prefix.
    expect(reasonOf('photos/p/slow.jpg')).toBe(
      `DECODE_TIMEOUT: decoding the image took longer than its time budget (over ${BUDGET_MS} ms (MAX_DECODE_MS))`,
    );
    const id = assetIdOf(file('slow.jpg'));
    expect(() => readdirSync(join(previewDir, id.slice(0, 2), id))).toThrow();
    expect(await gw.gw.deps.thumbnails.has(id, thumbKeyOf(contentHash(readFileSync(file('slow.jpg'))))!)).toBe(false);
    expect(await gw.gw.deps.store.retrieve(gw.gw.deps.collections.clip, [id])).toEqual([]);
    // The same ingest's other files went on (the decode process was replaced): the large photo has its thumbnail.
    const large = assetIdOf(file('large.jpg'));
    expect(await gw.gw.deps.thumbnails.has(large, thumbKeyOf(contentHash(readFileSync(file('large.jpg'))))!)).toBe(
      true,
    );
  });
});

/** The ingest's failure reason per path relative to the asset roots' parent. */
async function failureReasons(): Promise<(path: string) => string | undefined> {
  const failures = await call(
    gw.url,
    '/api/v1/assets/ingest/{ingest_id}/failures',
    'GET',
    `${report.body.failures_url}?limit=100`,
    { token: TOKEN },
  );
  return (p) => failures.body.failures.find((f: { path: string }) => f.path === p)?.reason;
}
