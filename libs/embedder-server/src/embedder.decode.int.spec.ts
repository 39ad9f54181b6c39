// Integration: a real in-process gRPC embedder on loopback with the project's tiny CLIP model in
// onnxruntime, decoding in REAL killable decode worker processes (sharp/libvips, libheif wasm,
// BMP/ICO decoders); inputs are real files from real encoders (sharp, heif-enc/x265) or written
// byte by byte from the format specifications (BMP, ICO, many-scan progressive JPEG).
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbedResponse__Output } from '@image-search/embedder-proto';
import { ImagePreprocessor, readModelFolder } from '@image-search/embedding';
import { garbageJpeg, heicFixture, manyScanJpeg, quadPixels, writeBmp, writeIco } from '@image-search/testing';
import { metricValue, rpc, startTestServer } from '../test/server-harness.js';
import { testModelDir } from '../test/models.js';

type Started = Awaited<ReturnType<typeof startTestServer>>;
let s: Started;
const LIMITS = { maxBytes: 2_000_000, maxPixels: 20_000_000 };

const vec = (res: EmbedResponse__Output, i: number) =>
  new Float32Array(new Uint8Array(res.results[i]!.embedding!).buffer);
const cos = (a: Float32Array, b: Float32Array) => a.reduce((t, v, i) => t + v * b[i]!, 0);
const png = (rgb: Buffer, w: number, h: number) =>
  sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();

beforeAll(async () => {
  s = await startTestServer({
    family: 'clip',
    modelDir: await testModelDir('clip'),
    env: {
      MAX_DECODE_MS: '1500',
      DECODE_WORKERS: '2',
      MAX_IMAGE_BYTES: String(LIMITS.maxBytes),
      MAX_IMAGE_PIXELS: String(LIMITS.maxPixels),
      MAX_REQUEST_ITEMS: '64',
      QUEUE_CAPACITY: '512',
    },
  });
});
afterAll(async () => {
  s?.client.close();
  await s?.server.stop();
});

describe('formats through gRPC', () => {
  it('embeds HEIC (primary image, oriented once), BMP and ICO like the same pixels as PNG', async () => {
    const rgb = quadPixels(80, 60);
    // The HEIC's displayed pixels (libheif applies irot; 48x64) as a PNG reference.
    const heicRef = await sharp(
      await sharp(await png(quadPixels(64, 48), 64, 48))
        .rotate(90)
        .png()
        .toBuffer(),
    ).toBuffer();
    const ico = await writeIco([
      { w: 16, h: 16, rgb: Buffer.alloc(16 * 16 * 3, 99) },
      { w: 80, h: 60, rgb },
    ]);
    const res = await rpc<EmbedResponse__Output>(s.client, 'EmbedImages', {
      images: [heicFixture(), heicRef, writeBmp(80, 60, rgb), ico, await png(rgb, 80, 60)].map((data) => ({ data })),
    });
    expect(res.results.map((r) => r.result)).toEqual(Array(5).fill('embedding'));
    expect(cos(vec(res, 0), vec(res, 1))).toBeGreaterThan(0.99);
    expect(cos(vec(res, 2), vec(res, 4))).toBeCloseTo(1, 6);
    expect(cos(vec(res, 3), vec(res, 4))).toBeCloseTo(1, 6);
  });
});

describe('messages are each item’s own', () => {
  it('gives every one of 48 different bad files, decoded concurrently, the message it gets alone', async () => {
    const good = await sharp(quadPixels(200, 150), { raw: { width: 200, height: 150, channels: 3 } })
      .jpeg()
      .toBuffer();
    const goodPng = await png(quadPixels(120, 90), 120, 90);
    const heic = heicFixture();
    const bad: Buffer[] = [];
    for (let i = 0; i < 12; i++) bad.push(good.subarray(0, Math.floor((good.length * (i + 1)) / 14))); // truncated JPEGs
    for (let i = 0; i < 12; i++) bad.push(await garbageJpeg(i + 1)); // valid header, garbage data
    for (let i = 0; i < 8; i++) bad.push(goodPng.subarray(0, Math.floor((goodPng.length * (i + 1)) / 10))); // truncated PNGs
    for (let i = 0; i < 6; i++) bad.push(heic.subarray(0, heic.length - 100 - i * 50)); // truncated HEICs
    for (let i = 0; i < 4; i++) bad.push(writeBmp(40, 30, quadPixels(40, 30)).subarray(0, 300 + i * 400)); // short BMPs
    bad.push(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), Buffer.from('%PDF-1.4 x'), Buffer.from('hello'));
    bad.push(
      await sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#000' } })
        .png()
        .toBuffer(),
    );
    bad.push(Buffer.alloc(0), Buffer.concat([good, Buffer.alloc(LIMITS.maxBytes)]));
    expect(bad.length).toBe(48);

    // Alone: one at a time through the same pipeline, as a decode worker runs it.
    const spec = readModelFolder(await testModelDir('clip')).image;
    const alone = new ImagePreprocessor(spec, LIMITS, { ownErrors: true });
    const expected: string[] = [];
    for (const b of bad) {
      const err = await alone.preprocess(b).then(
        () => 'decoded',
        (e: Error) => e.message,
      );
      expected.push(err);
    }
    // Together: four concurrent calls, interleaved with good images.
    const calls = [0, 1, 2, 3].map((c) => {
      const mine = bad.filter((_, i) => i % 4 === c);
      return rpc<EmbedResponse__Output>(s.client, 'EmbedImages', {
        images: mine.flatMap((data) => [{ data }, { data: good }]),
      }).then((r) => ({ c, r }));
    });
    const got: string[] = Array(bad.length);
    for (const { c, r } of await Promise.all(calls)) {
      r.results.forEach((x, j) => {
        if (j % 2 === 1) expect(x.result, 'the good images still embed').toBe('embedding');
        else got[(j / 2) * 4 + c] = x.error?.message ?? 'decoded';
      });
    }
    expect(got).toEqual(expected);
    for (const m of got) {
      expect(m).toMatch(
        /^(EMPTY_INPUT|INPUT_TOO_LARGE|NOT_AN_IMAGE|UNSUPPORTED_FORMAT|CORRUPT_IMAGE|TOO_MANY_PIXELS): /,
      );
      expect(m).not.toMatch(/\n|\/tmp|\/work|Unknown error/);
    }
    expect(got.filter((m) => m.startsWith('CORRUPT_IMAGE')).length).toBeGreaterThan(30);
  });
});

describe('decode time budget (MAX_DECODE_MS=1500)', () => {
  it('fails a many-scan progressive JPEG alone with DECODE_TIMEOUT; the rest of the call embeds', async () => {
    const slow = manyScanJpeg(2000, 2000); // 4 MP, 2,647 scans: ~3.6 s to decode on one 2-vCPU core
    const ok = await png(quadPixels(64, 64), 64, 64);
    const res = await rpc<EmbedResponse__Output>(s.client, 'EmbedImages', { images: [{ data: slow }, { data: ok }] });
    expect(res.results[0]!.error).toEqual({
      reason: 'DECODE_TIMEOUT',
      message: 'DECODE_TIMEOUT: decoding the image took longer than its time budget (over 1500 ms (MAX_DECODE_MS))',
    });
    expect(res.results[1]!.result).toBe('embedding');
    expect(
      await metricValue(s.server.metricsPort, 'embedder_decode_workers_replaced_total', { why: 'timeout' }),
    ).toBeGreaterThanOrEqual(1);
    // The killed workers were replaced: decoding goes on.
    const again = await rpc<EmbedResponse__Output>(s.client, 'EmbedImages', { images: [{ data: ok }, { data: ok }] });
    expect(again.results.map((r) => r.result)).toEqual(['embedding', 'embedding']);
  });

  // 4 rounds of budget-long decodes plus worker replacements: ~10 s idle, several times that on a loaded machine.
  it('keeps answering texts while 8 over-budget images are decoded at once', async () => {
    const slow = manyScanJpeg(2000, 2000);
    const uploads = Array.from({ length: 8 }, () =>
      rpc<EmbedResponse__Output>(s.client, 'EmbedImages', { images: [{ data: slow }] }),
    );
    // Order, not wall-clock time (which a loaded machine stretches): texts are answered while the decodes run,
    // including before the first of them has used up its budget.
    let texts = 0;
    let textsBeforeFirstUpload = 0;
    let firstDone = false;
    let done = false;
    void Promise.race(uploads).finally(() => (firstDone = true));
    const all = Promise.all(uploads).finally(() => (done = true));
    while (!done) {
      const r = await rpc<EmbedResponse__Output>(s.client, 'EmbedTexts', { texts: ['a red square'] });
      expect(r.results[0]!.result).toBe('embedding');
      texts += 1;
      if (!firstDone) textsBeforeFirstUpload += 1;
    }
    const results = await all;
    expect(results.map((r) => r.results[0]!.error?.reason)).toEqual(Array(8).fill('DECODE_TIMEOUT'));
    expect(texts).toBeGreaterThan(3);
    expect(textsBeforeFirstUpload).toBeGreaterThanOrEqual(1);
  }, 180_000);
});
