// Real parts: the generated fp32 and int8 ONNX files (tiny configs of the same builder that writes the
// full-size benchmark models) run in real onnxruntime-node, in a child `node` process running
// scripts/check-models.mjs (this lib is scope:shared, where lint bans importing onnxruntime-node).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archModelPlan, writeArchModel } from './bench-model.js';
import { CLIP_VIT_B32, SIGLIP_B16_224, tinyClipArch, tinySiglipArch } from './configs.js';
import { quantizeSymmetric } from './quantize.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const CHECK = resolve(import.meta.dirname, '../scripts/check-models.mjs');

interface CheckLine {
  file?: string;
  error?: string;
  outputs?: Record<string, number[]>;
  cosine_vs_fp32?: number;
  summary?: string;
}

describe('benchmark model builder (tiny configs, fp32 and int8)', () => {
  let root: string;
  const checked: Record<string, CheckLine[]> = {};

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bench-model-'));
    for (const arch of [tinyClipArch(700), tinySiglipArch(140)]) {
      const dir = join(root, arch.family);
      await writeArchModel(dir, arch, { variants: ['fp32', 'int8'], seed: 3 });
      const { stdout } = await promisify(execFile)(process.execPath, [CHECK, dir], { cwd: REPO_ROOT });
      checked[arch.family] = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as CheckLine);
    }
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it.each(['clip', 'siglip'])('%s: all four files load and run, int8 stays close to fp32', (family) => {
    const lines = checked[family]!;
    expect(lines.at(-1)).toMatchObject({ summary: 'ok', files: 4 });
    const files = lines.filter((l) => l.file).map((l) => l.file);
    expect(files).toEqual([
      'text_model.onnx',
      'text_model_quantized.onnx',
      'vision_model.onnx',
      'vision_model_quantized.onnx',
    ]);
    for (const l of lines.filter((x) => x.file?.includes('_quantized')))
      expect(l.cosine_vs_fp32, l.file).toBeGreaterThan(0.99);
  });

  it('uses dynamic quantization ops in the int8 files', async () => {
    const bytes = await readFile(join(root, 'clip', 'onnx', 'vision_model_quantized.onnx'));
    const text = bytes.toString('latin1');
    for (const op of ['DynamicQuantizeLinear', 'MatMulInteger']) expect(text).toContain(op);
    const textModel = (await readFile(join(root, 'clip', 'onnx', 'text_model_quantized.onnx'))).toString('latin1');
    expect(textModel).toContain('DequantizeLinear');
  });

  it('writes the config.json of the architecture', async () => {
    const cfg = JSON.parse(await readFile(join(root, 'siglip', 'config.json'), 'utf8')) as {
      model_type: string;
      text_config: { max_position_embeddings: number };
    };
    expect(cfg.model_type).toBe('siglip');
    expect(cfg.text_config.max_position_embeddings).toBe(64);
  });
});

describe('int8 quantization', () => {
  it('is symmetric per tensor and round-trips within half a step', () => {
    const w = Float32Array.from([-0.5, -0.01, 0, 0.2, 0.25]);
    const { q, scale } = quantizeSymmetric(w);
    expect(scale).toBeCloseTo(0.5 / 127, 8);
    expect(q[0]).toBe(-127);
    w.forEach((x, i) => expect(Math.abs(q[i]! * scale - x)).toBeLessThanOrEqual(scale / 2 + 1e-9));
  });

  it('full-size plans: int8 files hold the same parameters in about a quarter of the bytes', () => {
    for (const arch of [CLIP_VIT_B32, SIGLIP_B16_224]) {
      const plan = archModelPlan(arch);
      const fp32 = plan.find((p) => p.file.endsWith('vision_model.onnx'))!;
      const int8 = plan.find((p) => p.file.endsWith('vision_model_quantized.onnx'))!;
      expect(int8.params).toBe(fp32.params);
      expect(int8.weightBytes / fp32.weightBytes).toBeGreaterThan(0.25);
      expect(int8.weightBytes / fp32.weightBytes).toBeLessThan(0.3);
    }
  });
});
