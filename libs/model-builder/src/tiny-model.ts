import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { clipTextGraph, clipVisionGraph } from './clip-arch.js';
import { colourDirections, colourTextGraph, colourTokenTable, colourVisionGraph } from './colour-arch.js';
import { COLOUR_ALIASES, COLOUR_WORDS } from './colours.js';
import { embeddingDim, tinyClipArch, tinySiglipArch, type ModelArch } from './configs.js';
import type { Graph } from './graph.js';
import type { WeightInit } from './layers.js';
import { relabelIo } from './io-adapt.js';
import { Rng } from './rng.js';
import {
  hfConfig,
  immichPreprocessCfg,
  openClipConfig,
  pixelNorm,
  preprocessorConfig,
  writeJson,
  writeTokenizerFiles,
  type BuildInfo,
  type Family,
} from './model-files.js';
import { writeOnnx } from './onnx-writer.js';
import { siglipTextGraph, siglipVisionGraph } from './siglip-arch.js';
import { clipTokenizer, siglipTokenizer, type GeneratedTokenizer } from './tokenizers.js';

/** Bump when the generated files change, so cached test models are rebuilt. */
export const TINY_MODEL_VERSION = 1;

/** Embedding width of the tiny models (distinct per family, to catch mix-ups). */
export const TINY_EMBEDDING_DIM: Record<Family, number> = { clip: 32, siglip: 48 };

/** Options of `writeTinyModel`. */
export interface TinyModelOptions {
  family: Family;
  /** 'colour': embeddings mean colours (search "red" finds red images); 'random': the real architecture, tiny, random weights. */
  kind: 'colour' | 'random';
  /** 'hf' (transformers.js: onnx/vision_model.onnx ...) or 'immich' (visual/model.onnx, textual/model.onnx). */
  layout?: 'hf' | 'immich';
  seed?: number;
  /**
   * Standard deviation of seeded Gaussian noise added to the text tower's token-embedding weights
   * (0 = none): the same architecture, deliberately degraded, for tests that must tell a worse model
   * from a good one. A colour word's direction has norm 1, so 0.3 already confuses many queries.
   */
  weightNoise?: number;
}

/** The two towers before they are written. */
interface Towers {
  arch: ModelArch;
  vision: Graph;
  text: Graph;
  /** Output carrying the embedding in each tower. */
  visionOut: string;
  textOut: string;
}

function tinyArch(family: Family, tok: GeneratedTokenizer): ModelArch {
  return family === 'clip' ? tinyClipArch(tok.vocabSize) : tinySiglipArch(tok.vocabSize);
}

function colourTowers(
  family: Family,
  tok: GeneratedTokenizer,
  seed: number,
  immich: boolean,
  weightNoise: number,
): Towers {
  const arch = tinyArch(family, tok);
  const dim = TINY_EMBEDDING_DIM[family];
  const dirs = colourDirections(dim, seed);
  const colourIds = new Map<number, number>();
  COLOUR_WORDS.forEach((w, k) => colourIds.set(tok.wordIds.get(w)!, k));
  for (const [alias, w] of Object.entries(COLOUR_ALIASES))
    colourIds.set(tok.wordIds.get(alias)!, COLOUR_WORDS.indexOf(w));
  const table = colourTokenTable(tok.vocabSize, dirs, colourIds, tok.specialIds, seed);
  if (weightNoise > 0) {
    const noise = Rng.for(seed, 'weight-noise').normals(table.length, weightNoise);
    for (let i = 0; i < table.length; i++) table[i]! += noise[i]!;
  }
  const batch = immich ? 1 : 'batch_size';
  const ctx = arch.text.contextLength;
  const v = colourVisionGraph({
    name: `${family}_colour_vision`,
    input: immich ? 'image' : 'pixel_values',
    batch,
    imageSize: 224,
    norm: pixelNorm(family),
    dirs,
  });
  const t = colourTextGraph({
    name: `${family}_colour_text`,
    input: immich ? 'text' : 'input_ids',
    inputType: immich ? 'INT32' : 'INT64',
    batch,
    seq: immich ? ctx : 'sequence_length',
    table,
    dim,
  });
  if (immich) {
    v.g.output('embedding', v.pooled, 'FLOAT', [1, dim]);
    t.g.output('embedding', t.pooled, 'FLOAT', [1, dim]);
    return { arch, vision: v.g, text: t.g, visionOut: 'embedding', textOut: 'embedding' };
  }
  if (family === 'clip') {
    v.g.output('image_embeds', v.pooled, 'FLOAT', ['batch_size', dim]);
    t.g.output('text_embeds', t.pooled, 'FLOAT', ['batch_size', dim]);
    return { arch, vision: v.g, text: t.g, visionOut: 'image_embeds', textOut: 'text_embeds' };
  }
  v.g.output('last_hidden_state', v.perPatch, 'FLOAT', ['batch_size', 196, dim]);
  v.g.output('pooler_output', v.pooled, 'FLOAT', ['batch_size', dim]);
  t.g.output('last_hidden_state', t.tokens, 'FLOAT', ['batch_size', 'sequence_length', dim]);
  t.g.output('pooler_output', t.pooled, 'FLOAT', ['batch_size', dim]);
  return { arch, vision: v.g, text: t.g, visionOut: 'pooler_output', textOut: 'pooler_output' };
}

/** Vision and text graphs of an architecture (the same builders make the full-size models). */
export function archTowers(arch: ModelArch, seed: number, source?: WeightInit['source']): Towers {
  const w: WeightInit = source ? { seed, source } : { seed };
  if (arch.family === 'clip')
    return {
      arch,
      vision: clipVisionGraph(arch, w),
      text: clipTextGraph(arch, w),
      visionOut: 'image_embeds',
      textOut: 'text_embeds',
    };
  return {
    arch,
    vision: siglipVisionGraph(arch, w),
    text: siglipTextGraph(arch, w),
    visionOut: 'pooler_output',
    textOut: 'pooler_output',
  };
}

/** Turns transformers.js-style towers into immich's fixed-batch `image`/`text` -> `embedding` graphs. */
export function toImmichIo(t: Towers): Towers {
  const dim = embeddingDim(t.arch);
  const s = t.arch.vision.imageSize;
  relabelIo(t.vision, {
    input: { from: 'pixel_values', to: 'image', dtype: 'FLOAT', shape: [1, 3, s, s] },
    output: { from: t.visionOut, to: 'embedding', shape: [1, dim] },
  });
  relabelIo(t.text, {
    input: { from: 'input_ids', to: 'text', dtype: 'INT32', shape: [1, t.arch.text.contextLength] },
    output: { from: t.textOut, to: 'embedding', shape: [1, dim] },
  });
  return { ...t, visionOut: 'embedding', textOut: 'embedding' };
}

/** Describes the folder in config.json so a reader knows it is generated. */
function buildInfo(opts: Required<TinyModelOptions>, dim: number): BuildInfo {
  return {
    kind: opts.kind,
    seed: opts.seed,
    layout: opts.layout,
    ...(opts.weightNoise > 0 ? { weight_noise: opts.weightNoise } : {}),
    embedding_dim: dim,
    version: TINY_MODEL_VERSION,
    description:
      opts.kind === 'colour'
        ? `Generated test model: embeddings encode colour (image: the share of each colour among its 16x16 patches; text: the colour words ${COLOUR_WORDS.join(', ')}). Not a real ${opts.family} model.`
        : `Generated test model: ${opts.family} architecture, tiny config, seeded random weights. Embeddings carry no meaning.`,
  };
}

/** Writes a model folder (tokenizer + configs + ONNX graphs) in the transformers.js or immich layout. */
export async function writeModelFolder(
  dir: string,
  towers: Towers,
  tok: GeneratedTokenizer,
  layout: 'hf' | 'immich',
  info: BuildInfo,
  fileSuffix = '',
): Promise<void> {
  const family = towers.arch.family;
  const dim = embeddingDim(towers.arch);
  if (layout === 'hf') {
    await mkdir(join(dir, 'onnx'), { recursive: true });
    await writeJson(join(dir, 'config.json'), hfConfig(towers.arch, tok, info));
    await writeJson(join(dir, 'preprocessor_config.json'), preprocessorConfig(family, towers.arch.vision.imageSize));
    await writeTokenizerFiles(dir, tok);
    await writeOnnx(join(dir, 'onnx', `vision_model${fileSuffix}.onnx`), towers.vision);
    await writeOnnx(join(dir, 'onnx', `text_model${fileSuffix}.onnx`), towers.text);
    return;
  }
  await mkdir(join(dir, 'visual'), { recursive: true });
  await mkdir(join(dir, 'textual'), { recursive: true });
  await writeJson(join(dir, 'config.json'), { ...openClipConfig(towers.arch, dim), model_builder: info });
  await writeJson(
    join(dir, 'visual', 'preprocess_cfg.json'),
    immichPreprocessCfg(family, towers.arch.vision.imageSize),
  );
  await writeTokenizerFiles(join(dir, 'textual'), tok);
  await writeOnnx(join(dir, 'visual', 'model.onnx'), towers.vision);
  await writeOnnx(join(dir, 'textual', 'model.onnx'), towers.text);
}

/** Tokenizer of a family's tiny models. */
export function tinyTokenizer(family: Family): GeneratedTokenizer {
  return family === 'clip' ? clipTokenizer(77) : siglipTokenizer(64);
}

/**
 * Writes a complete tiny model folder into `dir` (created if missing): tokenizer files, config.json,
 * preprocessing config and ONNX graphs with the real models' input/output names and shapes.
 */
export async function writeTinyModel(dir: string, opts: TinyModelOptions): Promise<void> {
  const full: Required<TinyModelOptions> = { layout: 'hf', seed: 7, weightNoise: 0, ...opts };
  const tok = tinyTokenizer(full.family);
  const immich = full.layout === 'immich';
  let towers: Towers;
  if (full.kind === 'colour') towers = colourTowers(full.family, tok, full.seed, immich, full.weightNoise);
  else {
    towers = archTowers(tinyArch(full.family, tok), full.seed);
    if (immich) towers = toImmichIo(towers);
  }
  const dim = full.kind === 'colour' ? TINY_EMBEDDING_DIM[full.family] : embeddingDim(towers.arch);
  await mkdir(dir, { recursive: true });
  await writeModelFolder(dir, towers, tok, full.layout, buildInfo(full, dim));
}
