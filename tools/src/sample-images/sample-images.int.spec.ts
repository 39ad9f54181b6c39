// Integration: real sharp encoding/decoding on disk, and the real tiny 'colour' models (both
// families, run by onnxruntime through the embedding lib) searching the generated pictures.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLOUR_RGB, COLOUR_WORDS } from '@image-search/model-builder';
import { cosine, loadEmbeddingModel } from '@image-search/embedding';
import { tinyModelDir } from '@image-search/testing';
import { samplePlan, writeSampleImages } from './sample-images.js';

describe('make-sample-images (real sharp, real tiny colour models)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'samples-'));
    await writeSampleImages(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes 39 pictures in JPEG, PNG and WebP, one folder per kind, named by colour', async () => {
    expect(readdirSync(dir).sort()).toEqual(['gradients', 'photos', 'shapes']);
    const plan = samplePlan();
    expect(plan).toHaveLength(39);
    for (const img of plan) {
      const meta = await sharp(join(dir, img.path)).metadata();
      expect(meta.format, img.path).toBe(img.format);
      expect([meta.width, meta.height]).toEqual([320, 240]);
      expect(img.path).toContain(img.colour);
    }
  });

  it('every picture is dominated by its named colour (nearest colour word by mean RGB)', async () => {
    for (const img of samplePlan()) {
      const { channels } = await sharp(join(dir, img.path)).stats();
      const mean = channels.slice(0, 3).map((c) => c.mean);
      const nearest = COLOUR_WORDS.map((w) => ({
        w,
        d: Math.hypot(...COLOUR_RGB[w].map((v, i) => v - mean[i]!)),
      })).sort((a, b) => a.d - b.d)[0]!.w;
      expect(nearest, img.path).toBe(img.colour);
    }
  });

  it('keeps existing pictures on a second run, rewrites them with force', async () => {
    expect(await writeSampleImages(dir)).toMatchObject({ written: 0, kept: 39 });
    expect((await writeSampleImages(dir, { force: true })).written).toBe(39);
  });

  it.each(['clip', 'siglip'] as const)(
    'the %s demo model ranks the red pictures first for "red" (and so on for every colour)',
    async (family) => {
      const model = await loadEmbeddingModel({
        modelDir: await tinyModelDir(family, 'colour'),
        family,
        logger: { warn: () => {} },
      });
      try {
        const plan = samplePlan();
        const vectors = await model.embedPixels(
          await Promise.all(plan.map(async (p) => model.preprocessImage(await readFile(join(dir, p.path))))),
        );
        const queries = await model.embedTexts([...COLOUR_WORDS]);
        COLOUR_WORDS.forEach((word, qi) => {
          const ranked = plan.map((p, i) => ({ p, s: cosine(queries[qi]!, vectors[i]!) })).sort((a, b) => b.s - a.s);
          expect(
            ranked.slice(0, 3).map((r) => r.p.colour),
            `${family} "${word}"`,
          ).toEqual([word, word, word]);
        });
      } finally {
        await model.close();
      }
    },
  );
});
