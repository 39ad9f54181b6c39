// Conformance (runs when the reference fixtures exist): the fixtures' reference-mini weights, loaded
// into this builder's CLIP and SigLIP graphs, reproduce the reference exports. Real parts: the
// fixture ONNX files and golden token ids/embeddings, onnxruntime-node (in a child `node` process,
// since this scope:shared lib may not import it), and the same graph builders that write the
// full-size benchmark models. This is what makes those models architecture-faithful, not just
// the right size.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipReferenceSource, siglipReferenceSource } from '../test/reference-mapping.js';
import { testConfig } from '../test/config.js';
import type { ClipArch, SiglipArch } from './configs.js';
import { writeOnnx } from './onnx-writer.js';
import { archTowers } from './tiny-model.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const FIX = testConfig.fixturesDir;
const available = existsSync(join(FIX, 'golden')) && existsSync(join(FIX, 'models'));
if (!available)
  console.log(
    `[conformance] SKIPPED model-builder reference architectures: fixtures not found at ${FIX} (set FIXTURES_DIR to run it)`,
  );

const clipArch: ClipArch = {
  family: 'clip',
  projectionDim: 64,
  vision: {
    imageSize: 224,
    patchSize: 32,
    enc: { hidden: 128, heads: 2, intermediate: 512, layers: 2, eps: 1e-5, act: 'quick_gelu' },
  },
  text: {
    vocabSize: 49408,
    contextLength: 77,
    enc: { hidden: 128, heads: 2, intermediate: 512, layers: 2, eps: 1e-5, act: 'quick_gelu' },
  },
};
const siglipArch: SiglipArch = {
  family: 'siglip',
  vision: {
    imageSize: 224,
    patchSize: 16,
    enc: { hidden: 96, heads: 2, intermediate: 384, layers: 2, eps: 1e-6, act: 'gelu_tanh' },
  },
  text: {
    vocabSize: 32000,
    contextLength: 64,
    enc: { hidden: 128, heads: 2, intermediate: 512, layers: 2, eps: 1e-6, act: 'gelu_tanh' },
    projectionSize: 96,
  },
};

/** Runs reference and rebuilt towers on the same inputs; prints their outputs as JSON. */
const RUNNER = String.raw`
import * as ort from 'onnxruntime-node';
const jobs = JSON.parse(process.argv[1]);
let s = 12345;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
const out = [];
for (const j of jobs) {
  const feeds = {};
  if (j.ids) feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from(j.ids.flat().map(BigInt)), [j.ids.length, j.ids[0].length]);
  else feeds.pixel_values = new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 224 * 224 }, () => rnd() * 4 - 2), [2, 3, 224, 224]);
  const res = {};
  for (const [k, path] of Object.entries({ ref: j.ref, mine: j.mine })) {
    const sess = await ort.InferenceSession.create(path);
    const r = await sess.run(feeds);
    res[k] = Object.fromEntries(Object.entries(r).map(([n, t]) => [n, { dims: t.dims, data: Array.from(t.data) }]));
  }
  out.push({ name: j.name, ...res });
}
console.log(JSON.stringify(out));
`;

interface Out {
  dims: number[];
  data: number[];
}
interface JobResult {
  name: string;
  ref: Record<string, Out>;
  mine: Record<string, Out>;
}

function rows(o: Out): number[][] {
  const n = o.dims[0]!;
  const w = o.data.length / n;
  return Array.from({ length: n }, (_, i) => o.data.slice(i * w, (i + 1) * w));
}
const cosine = (a: number[], b: number[]) =>
  a.reduce((s, x, i) => s + x * b[i]!, 0) /
  Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));

describe.skipIf(!available)("reference architectures: fixture weights in this builder's graphs", () => {
  let root: string;
  let results: JobResult[];
  const golden = (m: string) =>
    JSON.parse(readFileSync(join(FIX, 'golden', `${m}.public.json`), 'utf8')) as {
      texts: { input_ids: number[]; embedding: number[] }[];
    };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ref-arch-'));
    const m = (name: string, f: string) => join(FIX, 'models', name, 'onnx', f);
    const clipSrc = clipReferenceSource(
      m('clip-reference-mini', 'vision_model.onnx'),
      m('clip-reference-mini', 'text_model.onnx'),
      2,
      { vision: 128, text: 128 },
    );
    const siglipSrc = siglipReferenceSource(
      m('siglip-reference-mini', 'vision_model.onnx'),
      m('siglip-reference-mini', 'text_model.onnx'),
      2,
    );
    const clipV = archTowers(clipArch, 0, clipSrc.vision).vision;
    const clipT = archTowers(clipArch, 0, clipSrc.text).text;
    const sigV = archTowers(siglipArch, 0, siglipSrc.vision).vision;
    const sigT = archTowers(siglipArch, 0, siglipSrc.text).text;
    await writeOnnx(join(root, 'clip_vision.onnx'), clipV);
    await writeOnnx(join(root, 'clip_text.onnx'), clipT);
    await writeOnnx(join(root, 'siglip_vision.onnx'), sigV);
    await writeOnnx(join(root, 'siglip_text.onnx'), sigT);
    const jobs = [
      { name: 'clip_vision', ref: m('clip-reference-mini', 'vision_model.onnx'), mine: join(root, 'clip_vision.onnx') },
      {
        name: 'clip_text',
        ref: m('clip-reference-mini', 'text_model.onnx'),
        mine: join(root, 'clip_text.onnx'),
        ids: golden('clip-reference-mini')
          .texts.slice(0, 8)
          .map((t) => t.input_ids),
      },
      {
        name: 'siglip_vision',
        ref: m('siglip-reference-mini', 'vision_model.onnx'),
        mine: join(root, 'siglip_vision.onnx'),
      },
      {
        name: 'siglip_text',
        ref: m('siglip-reference-mini', 'text_model.onnx'),
        mine: join(root, 'siglip_text.onnx'),
        ids: golden('siglip-reference-mini')
          .texts.slice(0, 8)
          .map((t) => t.input_ids),
      },
    ];
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', RUNNER, JSON.stringify(jobs)],
      { cwd: REPO_ROOT, maxBuffer: 256 << 20 },
    );
    results = JSON.parse(stdout) as JobResult[];
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const job = (name: string) => results.find((r) => r.name === name)!;

  it.each([
    ['clip_vision', 'image_embeds'],
    ['clip_text', 'text_embeds'],
    ['siglip_vision', 'pooler_output'],
    ['siglip_vision', 'last_hidden_state'],
    ['siglip_text', 'pooler_output'],
    ['siglip_text', 'last_hidden_state'],
  ])('%s %s matches the reference export (cosine >= 0.9999 per item)', (name, output) => {
    const r = job(name);
    expect(r.mine[output]!.dims).toEqual(r.ref[output]!.dims);
    const a = rows(r.mine[output]!);
    const b = rows(r.ref[output]!);
    a.forEach((row, i) => expect(cosine(row, b[i]!)).toBeGreaterThanOrEqual(0.9999));
  });

  it.each([
    ['clip_text', 'text_embeds', 'clip-reference-mini'],
    ['siglip_text', 'pooler_output', 'siglip-reference-mini'],
  ])('%s reproduces the golden PyTorch embeddings', (name, output, model) => {
    const g = golden(model).texts.slice(0, 8);
    rows(job(name).mine[output]!).forEach((row, i) =>
      expect(cosine(row, g[i]!.embedding)).toBeGreaterThanOrEqual(0.9999),
    );
  });
});
