// Conformance of shrink-on-load (issue #15 item 2): libjpeg (DCT scaling) and libwebp downscale a large
// original while decoding, which the embedders' preprocessing and the previews use by default. The
// embedding must stay within cosine 0.999 per image of the exact path (every pixel decoded, then
// resized), on both reference models, real onnxruntime and sharp, for the original and for the preview
// made from it. Photos: the fixture that shrinks on load (skimage/retina), a 2048x1536 JPEG, 12 MP JPEG
// mosaics with detail at pixel scale (one with EXIF orientation 6) and a 2400x1800 WebP. Nothing mocked.
// The bench (bench/decode-shrink.bench.ts) measures more photos and the time each setting takes.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceFixtureSkip, fixturePath, fixturesAvailable, largePhoto, mosaicPhoto } from '@image-search/testing';
import { DEFAULT_PREVIEW_OPTIONS, renderPreview, type ShrinkOnLoad } from '@image-search/image-formats';
import { loadEmbeddingModel, type OnnxEmbeddingModel } from './embedding-model.js';
import { ImagePreprocessor } from './image-preprocessor.js';
import { cosine } from './tensor-utils.js';

const TOLERANCE = 0.999;
const available = fixturesAvailable();
if (!available) announceFixtureSkip('libs/embedding shrink-on-load conformance (decoder downscale vs exact decode)');

const coco = (name: string) => readFileSync(fixturePath('images', 'coco', name));
const COCO = ['000000037666.jpg', '000000054718.jpg', '000000063217.jpg', '000000030752.jpg'];

interface Photo {
  name: string;
  bytes: Buffer;
}

async function photos(): Promise<Photo[]> {
  const [first, ...rest] = COCO.map(coco) as [Buffer, ...Buffer[]];
  // One upscaled photo only (largePhoto's noise loop is slow at 12 MP); the 12 MP photos are mosaics.
  const mosaic = await mosaicPhoto(rest, 0);
  const webp = await sharp(await mosaicPhoto(rest, 1))
    .resize(2400, 1800)
    .webp({ quality: 90, effort: 0 })
    .toBuffer();
  return [
    { name: 'skimage/retina.jpg', bytes: readFileSync(fixturePath('images', 'skimage', 'retina.jpg')) },
    { name: '2048x1536', bytes: await largePhoto(first, { width: 2048, height: 1536, seed: 1 }) },
    { name: '12MP mosaic', bytes: mosaic },
    { name: '12MP mosaic exif6', bytes: await mosaicPhoto(rest, 2, 6) },
    { name: '2400x1800 webp', bytes: webp },
  ];
}

describe.skipIf(!available)(
  'conformance: shrink-on-load keeps embeddings within cosine 0.999 of exact decoding',
  () => {
    let list: Photo[];
    beforeAll(async () => {
      list = await photos();
    }, 120_000);

    describe.each(['clip', 'siglip'] as const)('%s-reference-mini', (family) => {
      let model: OnnxEmbeddingModel;
      const prep = (s: ShrinkOnLoad) =>
        new ImagePreprocessor(model.images.spec, model.images.limits, { shrinkOnLoad: s });
      const embed = async (p: ImagePreprocessor, inputs: Buffer[]) =>
        model.embedPixels(await Promise.all(inputs.map((b) => p.preprocess(b))));
      const check = (label: string, exact: Float32Array[], got: Float32Array[]) => {
        const cos = list.map((p, i) => [p.name, cosine(exact[i]!, got[i]!)] as const);
        const min = cos.reduce((m, c) => (c[1] < m[1] ? c : m));
        console.log(
          `[conformance] ${family} ${label}: ${cos.length} photos, cosine min ${min[1].toFixed(6)} (${min[0]})`,
        );
        for (const [name, c] of cos) expect(c, name).toBeGreaterThanOrEqual(TOLERANCE);
      };
      beforeAll(async () => {
        model = await loadEmbeddingModel({
          modelDir: fixturePath('models', `${family}-reference-mini`),
          family,
          intraOpThreads: 1,
        });
      });
      afterAll(async () => {
        await model?.close();
      });

      it('the default preprocessing (fast) and the preview made with it match the exact decode', async () => {
        const bytes = list.map((p) => p.bytes);
        const exact = await embed(prep('off'), bytes);
        // The default is what production runs: a preprocessor without a setting.
        check(
          'preprocessing, default shrink-on-load',
          exact,
          await embed(new ImagePreprocessor(model.images.spec), bytes),
        );
        const previews = await Promise.all(
          bytes.map(async (b) => (await renderPreview(b, DEFAULT_PREVIEW_OPTIONS))?.data ?? b),
        );
        check('preview made with default shrink-on-load', exact, await embed(prep('fast'), previews));
      }, 60_000);

      it('the exact path really decodes every pixel (it differs from the default on a 12 MP JPEG)', async () => {
        const photo = list.find((p) => p.name === '12MP mosaic')!.bytes;
        const [off, fast] = await Promise.all([prep('off').preparePixels(photo), prep('fast').preparePixels(photo)]);
        expect(off.data.equals(fast.data)).toBe(false);
      });
    });
  },
);
