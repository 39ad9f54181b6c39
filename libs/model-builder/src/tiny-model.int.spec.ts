// Real parts: the generated ONNX files run in real onnxruntime-node, the generated tokenizers in real
// @huggingface/tokenizers. onnxruntime-node runs in a child `node` process because this lib is
// scope:shared, where lint bans importing it (it belongs to the embedding lib and the embedders).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLOUR_RGB, COLOUR_WORDS } from './colours.js';
import { TINY_EMBEDDING_DIM, writeTinyModel } from './tiny-model.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/**
 * Loads each model folder in onnxruntime, embeds one flat image per colour and one caption per
 * colour word, and reports input/output names, output shapes, and the image/text similarity matrix.
 */
const RUNNER = String.raw`
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
const { models, colours, extras } = JSON.parse(process.argv[1]);
const json = (p) => JSON.parse(readFileSync(p, 'utf8'));
const unit = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const results = [];
for (const m of models) {
  const immich = m.layout === 'immich';
  const tdir = immich ? m.dir + '/textual' : m.dir;
  const tok = new Tokenizer(json(tdir + '/tokenizer.json'), json(tdir + '/tokenizer_config.json'));
  const vs = await ort.InferenceSession.create(immich ? m.dir + '/visual/model.onnx' : m.dir + '/onnx/vision_model.onnx');
  const ts = await ort.InferenceSession.create(immich ? m.dir + '/textual/model.onnx' : m.dir + '/onnx/text_model.onnx');
  const pre = immich ? json(m.dir + '/visual/preprocess_cfg.json') : json(m.dir + '/preprocessor_config.json');
  const mean = pre.image_mean ?? pre.mean, std = pre.image_std ?? pre.std;
  const embOut = (names) => names.includes('pooler_output') ? 'pooler_output' : names.includes('embedding') ? 'embedding' : names[0];
  const batch = immich ? 1 : 2;
  const run = async (s, feeds) => { const r = await s.run(feeds); return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { dims: v.dims, data: Array.from(v.data) }])); };
  const images = [], shapes = {};
  // One flat image per colour, then the extra images: top third of 'top', the rest 'rest'.
  const paints = [...colours.map((c) => ({ top: c.rgb, rest: c.rgb })), ...extras];
  for (const { top, rest } of paints) {
    const px = new Float32Array(batch * 3 * 224 * 224);
    for (let b = 0; b < batch; b++) for (let c = 0; c < 3; c++) {
      const o = (b * 3 + c) * 50176;
      px.fill((top[c] / 255 - mean[c]) / std[c], o, o + 75 * 224);
      px.fill((rest[c] / 255 - mean[c]) / std[c], o + 75 * 224, o + 50176);
    }
    const r = await run(vs, { [vs.inputNames[0]]: new ort.Tensor('float32', px, [batch, 3, 224, 224]) });
    for (const [k, v] of Object.entries(r)) shapes['vision.' + k] = v.dims;
    const e = r[embOut(vs.outputNames)];
    images.push(unit(e.data.slice(0, e.dims[1])));
  }
  const ctx = m.family === 'clip' ? 77 : 64, pad = m.family === 'clip' ? 0 : 1;
  const texts = [];
  for (const c of colours) {
    const ids = tok.encode('a photo of a ' + c.word + ' thing').ids;
    const padded = [...ids, ...Array(ctx - ids.length).fill(pad)];
    const rows = Array(batch).fill(padded).flat();
    const t = immich ? new ort.Tensor('int32', Int32Array.from(rows), [batch, ctx]) : new ort.Tensor('int64', BigInt64Array.from(rows.map(BigInt)), [batch, ctx]);
    const r = await run(ts, { [ts.inputNames[0]]: t });
    for (const [k, v] of Object.entries(r)) shapes['text.' + k] = v.dims;
    const e = r[embOut(ts.outputNames)];
    texts.push(unit(e.data.slice(0, e.dims[1])));
  }
  const sim = texts.map((t) => images.map((i) => i.reduce((s, x, j) => s + x * t[j], 0)));
  results.push({ ...m, io: { vision: [vs.inputNames, vs.outputNames], text: [ts.inputNames, ts.outputNames] }, shapes, sim });
}
console.log(JSON.stringify(results));
`;

interface RunResult {
  dir: string;
  family: 'clip' | 'siglip';
  kind: 'colour' | 'random';
  layout: 'hf' | 'immich';
  io: { vision: [string[], string[]]; text: [string[], string[]] };
  shapes: Record<string, number[]>;
  sim: number[][];
}

/** Images with a colour on a third of the picture, the rest white (after the flat images in `sim`). */
const EXTRAS = [
  { top: COLOUR_RGB.red, rest: COLOUR_RGB.white },
  { top: COLOUR_RGB.blue, rest: COLOUR_RGB.white },
];

const VARIANTS = (['clip', 'siglip'] as const).flatMap((family) =>
  (['colour', 'random'] as const).flatMap((kind) =>
    (['hf', 'immich'] as const).map((layout) => ({ family, kind, layout })),
  ),
);

describe("tiny models run in onnxruntime with the real exports' inputs and outputs", () => {
  let root: string;
  let results: RunResult[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'model-builder-'));
    const models = [];
    for (const v of VARIANTS) {
      const dir = join(root, `${v.family}-${v.kind}-${v.layout}`);
      await writeTinyModel(dir, v);
      models.push({ ...v, dir });
    }
    const colours = COLOUR_WORDS.map((word) => ({ word, rgb: COLOUR_RGB[word] }));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', RUNNER, JSON.stringify({ models, colours, extras: EXTRAS })],
      { cwd: REPO_ROOT, maxBuffer: 64 << 20 },
    );
    results = JSON.parse(stdout) as RunResult[];
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const find = (family: string, kind: string, layout: string): RunResult =>
    results.find((r) => r.family === family && r.kind === kind && r.layout === layout)!;

  it('writes the files of each layout', () => {
    for (const r of results) {
      const files =
        r.layout === 'hf'
          ? [
              'config.json',
              'preprocessor_config.json',
              'tokenizer.json',
              'tokenizer_config.json',
              'onnx/vision_model.onnx',
              'onnx/text_model.onnx',
            ]
          : [
              'config.json',
              'visual/model.onnx',
              'visual/preprocess_cfg.json',
              'textual/model.onnx',
              'textual/tokenizer.json',
            ];
      for (const f of files) expect(existsSync(join(r.dir, f)), `${r.dir}/${f}`).toBe(true);
    }
  });

  it.each(['colour', 'random'])(
    'CLIP (%s): pixel_values -> image_embeds, input_ids -> text_embeds, dynamic batch',
    (kind) => {
      const r = find('clip', kind, 'hf');
      expect(r.io).toEqual({ vision: [['pixel_values'], ['image_embeds']], text: [['input_ids'], ['text_embeds']] });
      expect(r.shapes).toEqual({ 'vision.image_embeds': [2, 32], 'text.text_embeds': [2, 32] });
    },
  );

  it.each(['colour', 'random'])('SigLIP (%s): last_hidden_state and pooler_output from both towers', (kind) => {
    const r = find('siglip', kind, 'hf');
    expect(r.io).toEqual({
      vision: [['pixel_values'], ['last_hidden_state', 'pooler_output']],
      text: [['input_ids'], ['last_hidden_state', 'pooler_output']],
    });
    expect(r.shapes).toEqual({
      'vision.last_hidden_state': [2, 196, 48],
      'vision.pooler_output': [2, 48],
      'text.last_hidden_state': [2, 64, 48],
      'text.pooler_output': [2, 48],
    });
  });

  it.each(VARIANTS.filter((v) => v.layout === 'immich'))(
    'immich layout ($family, $kind): image / text -> embedding, batch 1',
    ({ family, kind }) => {
      const r = find(family, kind, 'immich');
      const d = TINY_EMBEDDING_DIM[family];
      expect(r.io).toEqual({ vision: [['image'], ['embedding']], text: [['text'], ['embedding']] });
      expect(r.shapes).toEqual({ 'vision.embedding': [1, d], 'text.embedding': [1, d] });
    },
  );

  it.each(VARIANTS.filter((v) => v.kind === 'colour'))(
    'colour model ($family, $layout): "a photo of a <colour> thing" ranks that colour\'s image first',
    ({ family, layout }) => {
      const r = find(family, 'colour', layout);
      r.sim.forEach((full, i) => {
        const row = full.slice(0, COLOUR_WORDS.length);
        const best = row.indexOf(Math.max(...row));
        expect(COLOUR_WORDS[best], `query ${COLOUR_WORDS[i]}: ${row.map((s) => s.toFixed(2)).join(' ')}`).toBe(
          COLOUR_WORDS[i],
        );
        expect(row[i]).toBeGreaterThan(0.8);
      });
    },
  );

  it.each(VARIANTS.filter((v) => v.kind === 'colour'))(
    'colour model ($family, $layout): a red object on white matches "red" more than a blue object on white does',
    ({ family, layout }) => {
      const r = find(family, 'colour', layout);
      const k = COLOUR_WORDS.length;
      const red = r.sim[COLOUR_WORDS.indexOf('red')]!;
      const blue = r.sim[COLOUR_WORDS.indexOf('blue')]!;
      expect(red[k]!).toBeGreaterThan(red[k + 1]! + 0.2);
      expect(blue[k + 1]!).toBeGreaterThan(blue[k]! + 0.2);
    },
  );

  it('the same seed gives the same random model in both layouts, and different images give different embeddings', () => {
    const hf = find('siglip', 'random', 'hf');
    const im = find('siglip', 'random', 'immich');
    hf.sim.forEach((row, i) => row.forEach((s, j) => expect(s).toBeCloseTo(im.sim[i]![j]!, 4)));
    const row = hf.sim[0]!;
    expect(Math.max(...row) - Math.min(...row)).toBeGreaterThan(1e-3);
  });
});
