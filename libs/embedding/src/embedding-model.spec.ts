// Loads generated tiny CLIP/SigLIP models (real ONNX graphs run by onnxruntime-node, real tokenizer.json
// through @huggingface/tokenizers, real sharp); no fixtures needed.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COLOUR_RGB, TINY_EMBEDDING_DIM } from '@image-search/model-builder';
import { AppError } from '@image-search/service-kit';
import { tinyModelDir } from '@image-search/testing';
import { solid } from '../test/images.js';
import { writeFp16ProbeVisionModel, writeMaskProbeTextModel } from '../test/probe-graphs.js';
import { loadEmbeddingModel, towerDim, type OnnxEmbeddingModel } from './embedding-model.js';
import { CUDA_INSTALL_HINT, parseDevice } from './onnx-session.js';
import { cosine } from './tensor-utils.js';

const open: OnnxEmbeddingModel[] = [];
async function load(...args: Parameters<typeof loadEmbeddingModel>): Promise<OnnxEmbeddingModel> {
  const m = await loadEmbeddingModel(...args);
  open.push(m);
  return m;
}
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
});

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe.each([
  ['clip', 'hf'],
  ['clip', 'immich'],
  ['siglip', 'hf'],
  ['siglip', 'immich'],
] as const)('%s model, %s layout (tiny colour model)', (family, layout) => {
  it('detects layout and family, reads the dimension from the graph, embeds normalised vectors', async () => {
    const dir = await tinyModelDir(family, 'colour', layout);
    const m = await load({ modelDir: dir, intraOpThreads: 1 });
    expect(m.info).toMatchObject({
      family,
      layout,
      dim: TINY_EMBEDDING_DIM[family],
      contextLength: family === 'clip' ? 77 : 64,
      imageSize: 224,
      executionProvider: 'cpu',
      maxModelBatch: layout === 'immich' ? 1 : 65536,
    });
    await m.warmUp();
    const [t] = await m.embedTexts(['red']);
    expect(t).toBeInstanceOf(Float32Array);
    expect(t!.length).toBe(m.info.dim);
    expect(Math.hypot(...t!)).toBeCloseTo(1, 5);
  });

  it('finds the red image for "red" and the blue one for "blue" (batches larger than the graph takes run item by item)', async () => {
    const m = await load({ modelDir: await tinyModelDir(family, 'colour', layout), intraOpThreads: 1 });
    const colours = ['red', 'green', 'blue', 'yellow'] as const;
    const pixels = await Promise.all(
      colours.map(async (c) => m.preprocessImage(await solid(320, 240, COLOUR_RGB[c], 'jpeg'))),
    );
    const imgs = await m.embedPixels(pixels);
    expect(imgs).toHaveLength(4);
    const texts = await m.embedTexts(['a photo of something red', 'Blue!']);
    const best = (q: Float32Array) =>
      colours[imgs.map((e) => cosine(q, e)).reduce((bi, c, i, a) => (c > a[bi]! ? i : bi), 0)];
    expect(best(texts[0]!)).toBe('red');
    expect(best(texts[1]!)).toBe('blue');
    // One by one equals batched.
    expect(cosine((await m.embedPixels([pixels[2]!]))[0]!, imgs[2]!)).toBeGreaterThan(0.99999);
  });
});

describe('random-weight tiny models (real architecture)', () => {
  it.each(['clip', 'siglip'] as const)('%s: batch and single runs agree, different inputs differ', async (family) => {
    const m = await load({ modelDir: await tinyModelDir(family, 'random', 'hf'), intraOpThreads: 1 });
    const texts = ['a dog', 'a much longer caption about two cats sleeping on a red sofa'];
    const both = await m.embedTexts(texts);
    expect(cosine((await m.embedTexts([texts[1]!]))[0]!, both[1]!)).toBeGreaterThan(0.99999);
    expect(cosine(both[0]!, both[1]!)).toBeLessThan(0.999);
    const ids = m.tokenize(texts);
    expect(ids.length).toBe(2 * m.info.contextLength);
  });
});

describe('one tower per instance (towers: image | text)', () => {
  it.each(['clip', 'siglip'] as const)(
    '%s: each half embeds as the whole model does and refuses the other tower by name',
    async (family) => {
      const dir = await tinyModelDir(family, 'colour', 'hf');
      const [both, image, text] = await Promise.all([
        load({ modelDir: dir, intraOpThreads: 1 }),
        load({ modelDir: dir, intraOpThreads: 1, towers: 'image' }),
        load({ modelDir: dir, intraOpThreads: 1, towers: 'text' }),
      ]);
      expect(image.info).toMatchObject({
        dim: both.info.dim,
        executionProvider: 'cpu',
        maxModelBatch: both.info.maxModelBatch,
      });
      expect(text.info).toMatchObject({
        dim: both.info.dim,
        executionProvider: 'cpu',
        contextLength: both.info.contextLength,
      });
      await Promise.all([image.warmUp(), text.warmUp()]);
      const px = await both.preprocessImage(await solid(64, 48, COLOUR_RGB.red, 'png'));
      expect(cosine((await image.embedPixels([px]))[0]!, (await both.embedPixels([px]))[0]!)).toBeGreaterThan(0.99999);
      expect(cosine((await text.embedTexts(['red']))[0]!, (await both.embedTexts(['red']))[0]!)).toBeGreaterThan(
        0.99999,
      );
      expect((await rejection(image.embedTexts(['red']))).message).toMatch(/without its text tower/);
      expect((await rejection(text.embedPixels([px]))).message).toMatch(/without its image tower/);
    },
  );
});

describe('towerDim', () => {
  it('takes the width of the towers present and refuses towers that disagree or give none', () => {
    expect(towerDim('/m', 512, 512)).toBe(512);
    expect(towerDim('/m', 768, undefined)).toBe(768);
    expect(towerDim('/m', undefined, 64)).toBe(64);
    expect(() => towerDim('/m', 512, 768)).toThrow(
      /\/m: the image tower gives 512-d and the text tower 768-d embeddings; they must match/,
    );
    expect(() => towerDim('/m', 0, undefined)).toThrow(/INVALID_CONFIG|must match/);
  });
});

describe('loading errors say what to do', () => {
  it('refuses a model of the other family', async () => {
    const err = await rejection(
      loadEmbeddingModel({ modelDir: await tinyModelDir('siglip', 'colour', 'hf'), family: 'clip' }),
    );
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toMatch(/is a siglip model, but a clip model was asked for/);
  });

  it('names a missing variant file, a missing folder and a folder that is not a model', async () => {
    const v = await rejection(
      loadEmbeddingModel({ modelDir: await tinyModelDir('clip', 'colour', 'hf'), variant: 'fp16' }),
    );
    expect(v.message).toMatch(/vision_model_fp16\.onnx.*MODEL_VARIANT/);
    expect((await rejection(loadEmbeddingModel({ modelDir: '/nonexistent/model' }))).message).toMatch(
      /model folder not found.*fetch-model/,
    );
    const empty = await mkdtemp(join(tmpdir(), 'emb-empty-'));
    try {
      expect((await rejection(loadEmbeddingModel({ modelDir: empty }))).message).toMatch(/is not a model folder/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('reports a broken config file by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emb-broken-'));
    try {
      await cp(await tinyModelDir('clip', 'colour', 'hf'), dir, { recursive: true });
      await writeFile(join(dir, 'preprocessor_config.json'), '{ not json');
      const err = await rejection(loadEmbeddingModel({ modelDir: dir }));
      expect(err.message).toMatch(/preprocessor_config\.json is not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('DEVICE', () => {
  it('parses cpu, cuda, cuda:N, auto and refuses anything else', () => {
    expect(parseDevice('cpu')).toEqual({ kind: 'cpu', deviceId: 0 });
    expect(parseDevice('cuda')).toEqual({ kind: 'cuda', deviceId: 0 });
    expect(parseDevice('cuda:3')).toEqual({ kind: 'cuda', deviceId: 3 });
    expect(parseDevice('AUTO')).toEqual({ kind: 'auto', deviceId: 0 });
    expect(() => parseDevice('gpu')).toThrow(/DEVICE must be cpu, cuda, cuda:N or auto/);
  });

  it('cuda: fails at load with how to install the provider when it cannot start; auto: falls back to cpu loudly', async () => {
    const dir = await tinyModelDir('clip', 'colour', 'hf');
    const warnings: string[] = [];
    const auto = await load({ modelDir: dir, device: 'auto', logger: { warn: (_o, msg) => warnings.push(msg) } });
    if (auto.info.executionProvider === 'cuda') {
      // A machine with the CUDA build of onnxruntime and a GPU: both modes run on it.
      expect((await load({ modelDir: dir, device: 'cuda:0' })).info.executionProvider).toBe('cuda');
      return;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/RUNNING ON CPU/);
    const err = await rejection(loadEmbeddingModel({ modelDir: dir, device: 'cuda:0' }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toContain('DEVICE=cuda:0');
    expect(err.message).toContain(CUDA_INSTALL_HINT);
    expect(CUDA_INSTALL_HINT).toContain(
      'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js',
    );
  });
});

describe('graph inputs and types (hand-built probe graphs)', () => {
  /** A copy of a tiny model folder whose fp16 variant files are the probe graphs. */
  async function probeFolder(family: 'clip' | 'siglip'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `emb-probe-${family}-`));
    await cp(await tinyModelDir(family, 'colour', 'hf'), dir, { recursive: true });
    await writeMaskProbeTextModel(join(dir, 'onnx', 'text_model_fp16.onnx'));
    await writeFp16ProbeVisionModel(join(dir, 'onnx', 'vision_model_fp16.onnx'));
    return dir;
  }

  it('feeds attention_mask when the text graph declares it: CLIP masks the padding, SigLIP attends everywhere', async () => {
    for (const family of ['clip', 'siglip'] as const) {
      const dir = await probeFolder(family);
      try {
        const m = await load({ modelDir: dir, variant: 'fp16', intraOpThreads: 1 });
        expect(m.info).toMatchObject({ variant: 'fp16', dim: 3 });
        const texts = ['red', 'a much longer text about blue'];
        const { ids, counts } = m.tokenizeWithCounts(texts);
        const out = await m.embedTokens(ids, texts.length);
        const ctx = m.info.contextLength;
        texts.forEach((_t, i) => {
          const row = ids.subarray(i * ctx, (i + 1) * ctx);
          const idSum = row.reduce((a, b) => a + Number(b), 0);
          const maskSum = family === 'clip' ? counts[i]! : ctx;
          // Output (mask_sum, ids_sum, mask_sum) is L2-normalised; the ratio survives.
          expect(out[i]![0]! / out[i]![1]!).toBeCloseTo(maskSum / idSum, 5);
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  it('converts float32 pixels to a float16 input and a float16 output back', async () => {
    const dir = await probeFolder('clip');
    try {
      const m = await load({ modelDir: dir, variant: 'fp16', intraOpThreads: 1 });
      const px = await m.preprocessImage(await solid(64, 64, [200, 30, 90], 'png'));
      const plane = 224 * 224;
      const means = [0, 1, 2].map((c) => px.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
      const [e] = await m.embedPixels([px]);
      expect(e).toBeInstanceOf(Float32Array);
      expect(cosine(e!, means)).toBeGreaterThan(0.9999);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
