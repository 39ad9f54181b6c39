import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIP_VIT_B32, embeddingDim, paramCounts, SIGLIP_B16_224, type ModelArch } from './configs.js';
import type { Graph } from './graph.js';
import { hfConfig, preprocessorConfig, writeJson, writeTokenizerFiles, type Family } from './model-files.js';
import { writeOnnx } from './onnx-writer.js';
import { quantizeDynamicInPlace } from './quantize.js';
import { archTowers, tinyTokenizer } from './tiny-model.js';

/** Weight formats of the generated models: fp32, and int8 dynamically quantized (`*_quantized.onnx`). */
export type BenchVariant = 'fp32' | 'int8';

/** One ONNX file being written, for progress reports. */
export interface BenchProgress {
  file: string;
  /** Weight bytes written to this file so far, and in total. */
  written: number;
  total: number;
}

/** Options of `writeArchModel` / `writeBenchModel`. */
export interface BenchModelOptions {
  variants?: BenchVariant[];
  seed?: number;
  /** Copy tokenizer.json / tokenizer_config.json / special_tokens_map.json from here (e.g. a real model) instead of generating a small one. */
  tokenizerFrom?: string;
  onProgress?: (p: BenchProgress) => void;
  /** Called when a file is complete. */
  onFile?: (file: string) => void;
}

/** The full-size architecture of a family. */
export function benchArch(family: Family): ModelArch {
  return family === 'clip' ? CLIP_VIT_B32 : SIGLIP_B16_224;
}

/** eos / pad ids of a copied tokenizer, so config.json agrees with it. */
function specialIdsOf(dir: string, family: Family): { eosId: number; padId: number } {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as {
    added_tokens?: { id: number; content: string }[];
  };
  const eos = json.added_tokens?.find((t) => t.content === (family === 'clip' ? '<|endoftext|>' : '</s>'));
  if (!eos)
    throw new Error(
      `${dir}/tokenizer.json has no ${family === 'clip' ? '<|endoftext|>' : '</s>'} token; is it a ${family} tokenizer?`,
    );
  return { eosId: eos.id, padId: family === 'clip' ? 0 : eos.id };
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/**
 * Writes an architecture-faithful model with seeded random weights in the transformers.js layout:
 * config.json, preprocessor_config.json, tokenizer files, and per variant `onnx/vision_model{,_quantized}.onnx`
 * and `onnx/text_model{,_quantized}.onnx`. The same seed gives the same weights in every variant.
 */
export async function writeArchModel(dir: string, arch: ModelArch, opts: BenchModelOptions = {}): Promise<void> {
  const variants = opts.variants ?? ['fp32', 'int8'];
  const seed = opts.seed ?? 1;
  const generated = tinyTokenizer(arch.family);
  const tok = opts.tokenizerFrom ? { ...generated, ...specialIdsOf(opts.tokenizerFrom, arch.family) } : generated;
  await mkdir(join(dir, 'onnx'), { recursive: true });
  const counts = paramCounts(arch);
  await writeJson(
    join(dir, 'config.json'),
    hfConfig(arch, tok, {
      kind: 'random',
      seed,
      params: counts,
      embedding_dim: embeddingDim(arch),
      description: `Generated benchmark model: ${arch.family} architecture at full size with seeded random weights (real compute cost, meaningless embeddings).`,
    }),
  );
  await writeJson(join(dir, 'preprocessor_config.json'), preprocessorConfig(arch.family, arch.vision.imageSize));
  if (opts.tokenizerFrom) {
    for (const f of TOKENIZER_FILES)
      if (existsSync(join(opts.tokenizerFrom, f))) await copyFile(join(opts.tokenizerFrom, f), join(dir, f));
  } else {
    await writeTokenizerFiles(dir, tok);
  }
  for (const { file, variant, tower } of benchFiles(variants)) {
    {
      const graph = towerGraph(arch, seed, tower, variant);
      await writeOnnx(join(dir, file), graph, {
        docString: `${arch.family} ${tower} tower, ${variant}, seeded random weights (seed ${seed})`,
        onProgress: (written, total) => opts.onProgress?.({ file, written, total }),
      });
      opts.onFile?.(file);
    }
  }
}

function benchFiles(variants: BenchVariant[]): { file: string; variant: BenchVariant; tower: 'vision' | 'text' }[] {
  return variants.flatMap((variant) =>
    (['vision', 'text'] as const).map((tower) => ({
      variant,
      tower,
      file: join('onnx', `${tower}_model${variant === 'int8' ? '_quantized' : ''}.onnx`),
    })),
  );
}

function towerGraph(arch: ModelArch, seed: number, tower: 'vision' | 'text', variant: BenchVariant): Graph {
  const towers = archTowers(arch, seed);
  const graph = tower === 'vision' ? towers.vision : towers.text;
  if (variant === 'int8') quantizeDynamicInPlace(graph);
  return graph;
}

/** The ONNX files `writeArchModel` will write and their weight bytes (for progress totals), without generating weights. */
export function archModelPlan(
  arch: ModelArch,
  variants: BenchVariant[] = ['fp32', 'int8'],
): { file: string; weightBytes: number; params: number }[] {
  return benchFiles(variants).map(({ file, variant, tower }) => {
    const g = towerGraph(arch, 1, tower, variant);
    return { file, weightBytes: g.weightBytes(), params: g.paramCount() };
  });
}

/** Full-size CLIP ViT-B/32 or SigLIP B/16-224 with random weights, for benchmarks. */
export function writeBenchModel(dir: string, family: Family, opts: BenchModelOptions = {}): Promise<void> {
  return writeArchModel(dir, benchArch(family), opts);
}
