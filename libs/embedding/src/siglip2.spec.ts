// SigLIP 2 (fixed resolution) end to end on tiny SigLIP 2-shaped models built by the model builder in the
// reference layout: the Gemma tokenizer.json through @huggingface/tokenizers, preprocessing read from
// preprocessor_config.json, real ONNX graphs run by onnxruntime-node. No network, no real weights.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gemmaPieceId,
  gemmaTokenizer,
  GEMMA_BYTE_BASE,
  GEMMA_SPECIAL,
  TINY_SIGLIP2_DIM,
  writeTinySiglip2Model,
} from '@image-search/model-builder';
import { AppError } from '@image-search/service-kit';
import { solid } from '../test/images.js';
import { loadEmbeddingModel, type OnnxEmbeddingModel } from './embedding-model.js';
import { modelFingerprint } from './model-fingerprint.js';
import { readModelFolder } from './model-folder.js';
import { cosine } from './tensor-utils.js';

const gen = gemmaTokenizer();
const piece = (p: string) => gemmaPieceId(gen, p);
const byte = (b: number) => GEMMA_BYTE_BASE + b;
const { pad: PAD, eos: EOS } = GEMMA_SPECIAL;
/** `ids` then `<pad>` to 64, as GemmaTokenizerFast(padding="max_length", max_length=64) gives. */
const row = (ids: number[]) => [...ids, ...new Array<number>(64 - ids.length).fill(PAD)].map(BigInt);

let root: string;
const dirs: Record<string, string> = {};
const open: OnnxEmbeddingModel[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'siglip2-spec-'));
  dirs.b16 = join(root, 'siglip2-base-patch16-224');
  dirs.so400m = join(root, 'siglip2-so400m-patch14-384');
  dirs.typed = join(root, 'siglip2-model-type');
  await writeTinySiglip2Model(dirs.b16, { shape: 'b16-224' });
  await writeTinySiglip2Model(dirs.so400m, { shape: 'so400m-14' });
  await writeTinySiglip2Model(dirs.typed, { shape: 'b16-224', modelType: 'siglip2' });
});
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
  await rm(root, { recursive: true, force: true });
});
async function load(dir: string): Promise<OnnxEmbeddingModel> {
  const m = await loadEmbeddingModel({ modelDir: dir, family: 'siglip', intraOpThreads: 1 });
  open.push(m);
  return m;
}

describe('SigLIP 2 model folder (reference layout)', () => {
  it('has the files of an onnx-community SigLIP 2 export', async () => {
    for (const f of [
      'config.json',
      'preprocessor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'onnx/vision_model.onnx',
      'onnx/text_model.onnx',
    ])
      await expect(readFile(join(dirs.b16!, f))).resolves.toBeTruthy();
  });

  it('is a SigLIP served with the Gemma text style, whether config.json says siglip or siglip2', () => {
    for (const d of [dirs.b16!, dirs.typed!]) {
      const f = readModelFolder(d, { family: 'siglip' });
      expect([f.family, f.textStyle, f.contextLength]).toEqual(['siglip', 'siglip2', 64]);
    }
    // The SigLIP 1 tiny model keeps its T5 canonicalising style.
  });

  it('reads the preprocessing from preprocessor_config.json: size, resample, rescale, mean/std', () => {
    const b16 = readModelFolder(dirs.b16!).image;
    expect(b16).toMatchObject({
      size: 224,
      mode: 'squash',
      kernel: 'linear',
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    });
    expect(b16.rescale).toBeCloseTo(1 / 255, 12);
    expect(readModelFolder(dirs.so400m!).image).toMatchObject({ size: 112, mode: 'squash', kernel: 'linear' });
  });

  it('refuses a NaFlex SigLIP 2 folder, naming the supported fixed-resolution models', async () => {
    const d = join(root, 'naflex');
    await writeTinySiglip2Model(d, { modelType: 'siglip2' });
    await writeFile(
      join(d, 'preprocessor_config.json'),
      JSON.stringify({ image_processor_type: 'Siglip2ImageProcessor', max_num_patches: 256, patch_size: 16 }),
    );
    let err: unknown;
    try {
      readModelFolder(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/NaFlex.*fixed-resolution SigLIP 2/);
  });
});

describe('SigLIP 2 tokenization (Gemma tokenizer.json, hand-computed ids)', () => {
  let model: OnnxEmbeddingModel;
  beforeAll(async () => {
    model = await load(dirs.b16!);
  });
  const ids = (text: string) => [...model.tokenize([text])];

  it('lowercases, adds no <bos>, ends with <eos> and pads with <pad> to 64', () => {
    // "a red car": no dummy prefix, so the first word is the bare piece and later ones carry ▁.
    const expected = row([piece('a'), piece('\u2581red'), piece('\u2581car'), EOS]);
    expect(ids('A Red Car')).toEqual(expected);
    expect(ids('a red car')).toEqual(expected);
    expect(model.tokenizeWithCounts(['a red car']).counts).toEqual([4]);
  });

  it('keeps punctuation (SigLIP 1 strips it) and falls back to UTF-8 bytes for unknown characters', () => {
    expect(ids('red, car.')).toEqual(row([piece('red'), piece(','), piece('\u2581car'), piece('.'), EOS]));
    // é is not in the vocabulary: <0xC3><0xA9>; "ca" is a merge learnt for "cat"/"car".
    expect(ids('Café')).toEqual(row([piece('ca'), piece('f'), byte(0xc3), byte(0xa9), EOS]));
    expect(ids('日')).toEqual(row([byte(0xe6), byte(0x97), byte(0xa5), EOS]));
  });

  it('keeps every space as ▁ (no whitespace collapsing)', () => {
    expect(ids('red  car')).toEqual(row([piece('red'), piece('\u2581'), piece('\u2581car'), EOS]));
  });

  it('truncates to 63 ids and keeps <eos> last, as truncation=True, max_length=64 does', () => {
    const long = ids(Array.from({ length: 100 }, () => 'red').join(' '));
    expect(long).toHaveLength(64);
    expect(long[0]).toBe(BigInt(piece('red')));
    expect(long.slice(1, 63).every((x) => x === BigInt(piece('\u2581red')))).toBe(true);
    expect(long[63]).toBe(BigInt(EOS));
  });

  it('follows tokenizer_config.json: add_bos_token true puts <bos> first', async () => {
    const d = join(root, 'with-bos');
    await writeTinySiglip2Model(d);
    const cfgFile = join(d, 'tokenizer_config.json');
    const cfg = JSON.parse(await readFile(cfgFile, 'utf8')) as Record<string, unknown>;
    await writeFile(cfgFile, JSON.stringify({ ...cfg, add_bos_token: true }));
    const m = await load(d);
    expect([...m.tokenize(['red'])]).toEqual(row([GEMMA_SPECIAL.bos, piece('red'), EOS]));
    // Everything that changes the ids changes the fingerprint.
    expect(await modelFingerprint(readModelFolder(d))).not.toBe(await modelFingerprint(readModelFolder(dirs.b16!)));
  });
});

describe.each([
  ['b16-224', 'b16', 224],
  ['so400m-14', 'so400m', 112],
] as const)('SigLIP 2 %s embeds faithfully', (shape, key, size) => {
  let model: OnnxEmbeddingModel;
  beforeAll(async () => {
    model = await load(dirs[key]!);
  });

  it('reports the dimension and image size read from the folder', () => {
    expect(model.info).toMatchObject({
      family: 'siglip',
      dim: TINY_SIGLIP2_DIM[shape],
      imageSize: size,
      contextLength: 64,
    });
  });

  it('text: the embedding is the text tower run on the hand-computed ids (normalised)', async () => {
    const session = await ort.InferenceSession.create(join(dirs[key]!, 'onnx', 'text_model.onnx'));
    const feed = new ort.Tensor(
      'int64',
      BigInt64Array.from(row([piece('a'), piece('\u2581red'), piece('\u2581car'), EOS])),
      [1, 64],
    );
    const out = (await session.run({ input_ids: feed }))['pooler_output']!.data as Float32Array;
    await session.release();
    const [v] = await model.embedTexts(['A red car']);
    expect(cosine(v!, out)).toBeGreaterThan(0.99999);
  });

  it('image: pixels are (value * rescale_factor - mean) / std at the configured size, then the vision tower', async () => {
    const rgb: [number, number, number] = [200, 40, 90];
    const pixels = await model.preprocessImage(await solid(300, 170, rgb));
    expect(pixels).toHaveLength(3 * size * size);
    const plane = size * size;
    for (let c = 0; c < 3; c++) {
      const want = (rgb[c]! / 255 - 0.5) / 0.5;
      for (const i of [0, plane >> 1, plane - 1]) expect(pixels[c * plane + i]!).toBeCloseTo(want, 5);
    }
    const session = await ort.InferenceSession.create(join(dirs[key]!, 'onnx', 'vision_model.onnx'));
    const out = (await session.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, size, size]) }))[
      'pooler_output'
    ]!.data as Float32Array;
    await session.release();
    const [v] = await model.embedPixels([pixels]);
    expect(cosine(v!, out)).toBeGreaterThan(0.99999);
  });
});

describe('SigLIP 2 fingerprint', () => {
  it('changes with preprocessor_config.json (resample) and is stable otherwise', async () => {
    const d = join(root, 'resample');
    await writeTinySiglip2Model(d);
    const before = await modelFingerprint(readModelFolder(d));
    expect(await modelFingerprint(readModelFolder(d))).toBe(before);
    const file = join(d, 'preprocessor_config.json');
    const pre = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...pre, resample: 3 }));
    expect(await modelFingerprint(readModelFolder(d))).not.toBe(before);
  });
});
