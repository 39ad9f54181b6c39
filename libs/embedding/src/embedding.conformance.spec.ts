// Conformance: the real reference-mini models and tokenizers from the fixtures against golden outputs
// computed with the PyTorch reference (real onnxruntime, real sharp, real tokenizers; nothing mocked).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceFixtureSkip, fixturePath, fixturesAvailable } from '@image-search/testing';
import { loadEmbeddingModel, type OnnxEmbeddingModel } from './embedding-model.js';
import { cosine } from './tensor-utils.js';

interface GoldenImage {
  id: string;
  file: string;
  width: number;
  height: number;
  pixels_uint8_sha256: string;
  pixel_values_sha256: string;
  pixel_values_mean: number[];
  embedding: number[];
}
interface GoldenText {
  id: string;
  text: string;
  input_ids: number[];
  num_tokens: number;
  embedding: number[];
}
interface Golden {
  embedding_dim: number;
  tolerance: { text_cosine_min_when_ids_match: number; image_cosine_min: number; image_cosine_median_min: number };
  preprocessing: { context_length: number };
  images: GoldenImage[];
  texts: GoldenText[];
}

const available = fixturesAvailable();
if (!available) announceFixtureSkip('libs/embedding conformance (golden CLIP/SigLIP embeddings)');

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const f6 = (x: number) => x.toFixed(6);

describe.skipIf(!available).each(['clip', 'siglip'] as const)(
  'conformance: %s-reference-mini reproduces the golden file',
  (family) => {
    let model: OnnxEmbeddingModel;
    let golden: Golden;

    beforeAll(async () => {
      golden = JSON.parse(
        readFileSync(fixturePath('golden', `${family}-reference-mini.public.json`), 'utf8'),
      ) as Golden;
      model = await loadEmbeddingModel({
        modelDir: fixturePath('models', `${family}-reference-mini`),
        family,
        intraOpThreads: 1,
      });
    });
    afterAll(async () => {
      await model?.close();
    });

    it('reads family, dimension and context length from the model folder', () => {
      expect(model.info).toMatchObject({
        family,
        layout: 'hf',
        dim: golden.embedding_dim,
        contextLength: golden.preprocessing.context_length,
        imageSize: 224,
        executionProvider: 'cpu',
      });
    });

    it('token ids match exactly and text embeddings reach the cosine tolerance', async () => {
      const { ids, counts } = model.tokenizeWithCounts(golden.texts.map((t) => t.text));
      const ctx = model.info.contextLength;
      const mismatched = golden.texts
        .filter((t, i) => Array.from(ids.subarray(i * ctx, (i + 1) * ctx), Number).join() !== t.input_ids.join())
        .map((t) => t.text);
      expect(mismatched).toEqual([]);
      expect(counts).toEqual(golden.texts.map((t) => t.num_tokens));
      const embs = await model.embedTokens(ids, golden.texts.length);
      const cos = embs.map((e, i) => cosine(e, golden.texts[i]!.embedding));
      console.log(
        `[conformance] ${family} text: ${golden.texts.length} strings, ids exact ${golden.texts.length - mismatched.length}/${golden.texts.length}, cosine min ${f6(Math.min(...cos))} median ${f6(median(cos))}`,
      );
      for (const c of cos) expect(c).toBeGreaterThanOrEqual(golden.tolerance.text_cosine_min_when_ids_match);
      for (const e of embs) expect(Math.hypot(...e)).toBeCloseTo(1, 5);
    });

    it('image embeddings reach the per-image and median tolerance (every golden image)', async () => {
      const cos: number[] = [];
      let pixelsSame = 0;
      let tensorSame = 0;
      let meanDiff = 0;
      const worst: [string, number][] = [];
      const batch = new Float32Array(golden.images.length * model.images.tensorLength);
      for (const [i, im] of golden.images.entries()) {
        const bytes = readFileSync(fixturePath('images', im.file));
        const px = await model.preparePixels(bytes);
        expect([px.sourceWidth, px.sourceHeight], im.file).toEqual([im.width, im.height]);
        if (sha(px.data) === im.pixels_uint8_sha256) pixelsSame++;
        const offset = i * model.images.tensorLength;
        model.images.normalizeInto(px.data, batch, offset);
        if (sha(new Uint8Array(batch.buffer, offset * 4, model.images.tensorLength * 4)) === im.pixel_values_sha256)
          tensorSame++;
        const plane = model.images.size * model.images.size;
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let k = 0; k < plane; k++) sum += batch[offset + c * plane + k]!;
          meanDiff = Math.max(meanDiff, Math.abs(sum / plane - im.pixel_values_mean[c]!));
        }
      }
      const embs = await model.embedPixelBatch(batch, golden.images.length);
      embs.forEach((e, i) => {
        const c = cosine(e, golden.images[i]!.embedding);
        cos.push(c);
        worst.push([golden.images[i]!.file, c]);
      });
      worst.sort((a, b) => a[1] - b[1]);
      console.log(
        `[conformance] ${family} images: ${cos.length}, cosine min ${f6(Math.min(...cos))} median ${f6(median(cos))}; ` +
          `worst ${worst
            .slice(0, 3)
            .map(([f, c]) => `${f} ${c.toFixed(5)}`)
            .join(', ')}; ` +
          `uint8 pixels bit-identical to PIL ${pixelsSame}/${cos.length}, float tensors ${tensorSame}/${cos.length} (libvips resamples differently; diagnostic only), max |channel mean - golden| ${meanDiff.toFixed(4)}`,
      );
      for (const [file, c] of worst) expect(c, file).toBeGreaterThanOrEqual(golden.tolerance.image_cosine_min);
      expect(median(cos)).toBeGreaterThanOrEqual(golden.tolerance.image_cosine_median_min);
      // A permuted or shifted channel mean means swapped channels or the wrong mean/std (fixtures README §5).
      expect(meanDiff).toBeLessThan(0.02);
    });

    it('gives the same vectors one by one as in a batch', async () => {
      const files = golden.images.slice(0, 5).map((im) => readFileSync(fixturePath('images', im.file)));
      const pixels = await Promise.all(files.map((b) => model.preprocessImage(b)));
      const together = await model.embedPixels(pixels);
      for (const [i, p] of pixels.entries())
        expect(cosine((await model.embedPixels([p]))[0]!, together[i]!)).toBeGreaterThan(0.99999);
      const texts = ['a', 'a much longer sentence about a dog on a beach at sunset'];
      const both = await model.embedTexts(texts);
      for (const [i, t] of texts.entries())
        expect(cosine((await model.embedTexts([t]))[0]!, both[i]!)).toBeGreaterThan(0.99999);
    });

    it('truncates long texts keeping the end token last, and pads every row to the full context', () => {
      const ctx = model.info.contextLength;
      const ids = Array.from(model.tokenize(['word '.repeat(200), 'hi']), Number);
      const long = ids.slice(0, ctx);
      const short = ids.slice(ctx);
      expect(ids.length).toBe(2 * ctx);
      if (family === 'clip') {
        expect(long[0]).toBe(49406);
        expect(long[ctx - 1]).toBe(49407);
        expect(short.slice(3)).toEqual(new Array(ctx - 3).fill(0));
      } else {
        expect(long[ctx - 1]).toBe(1);
        expect(long.slice(0, ctx - 1)).not.toContain(1);
        expect(short.slice(short.indexOf(1))).toEqual(new Array(ctx - short.indexOf(1)).fill(1));
      }
    });
  },
);

describe.skipIf(!available)('conformance: the real CLIP tokenizer reproduces OpenAI reference ids', () => {
  it('matches clip-tokens.public.json (full and context-77 truncated)', async () => {
    const cases = JSON.parse(readFileSync(fixturePath('golden', 'clip-tokens.public.json'), 'utf8')) as {
      text: string;
      ids: number[];
      ids_context77_truncated: number[];
    }[];
    const model = await loadEmbeddingModel({
      modelDir: fixturePath('models', 'clip-reference-mini'),
      intraOpThreads: 1,
    });
    try {
      const { ids, counts } = model.tokenizeWithCounts(cases.map((c) => c.text));
      const bad = cases.filter((c, i) => {
        const row = Array.from(ids.subarray(i * 77, (i + 1) * 77), Number);
        const n = counts[i]!;
        return (
          row.slice(0, n).join() !== c.ids_context77_truncated.join() ||
          (c.ids.length <= 77 && c.ids.join() !== c.ids_context77_truncated.join())
        );
      });
      console.log(
        `[conformance] clip tokenizer: ${cases.length - bad.length}/${cases.length} strings match OpenAI's simple_tokenizer`,
      );
      expect(bad.map((c) => c.text)).toEqual([]);
    } finally {
      await model.close();
    }
  });

  it('counts a literal <|endoftext|> in the text as the end token it is (OpenAI tokenizes it so)', async () => {
    const golden = JSON.parse(readFileSync(fixturePath('golden', 'clip-reference-mini.public.json'), 'utf8')) as Golden;
    const cat = golden.texts.find((t) => t.text === 'a photo of a cat')!;
    const ref = cat.input_ids.slice(0, cat.num_tokens); // [sot, a, photo, of, a, cat, eot]
    const [sot, eot] = [ref[0]!, ref[ref.length - 1]!];
    const model = await loadEmbeddingModel({
      modelDir: fixturePath('models', 'clip-reference-mini'),
      intraOpThreads: 1,
    });
    try {
      const texts = ['a photo of a <|endoftext|>', '<|endoftext|> a photo of a cat'];
      const want = [
        [...ref.slice(0, 5), eot, eot],
        [sot, eot, ...ref.slice(1)],
      ];
      const { ids, counts } = model.tokenizeWithCounts(texts);
      expect(counts).toEqual(want.map((w) => w.length)); // 7 and 8
      texts.forEach((_t, i) => expect(Array.from(ids.subarray(i * 77, i * 77 + counts[i]!), Number)).toEqual(want[i]));
    } finally {
      await model.close();
    }
  });
});
