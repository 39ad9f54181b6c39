import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SiglipArch } from './configs.js';
import { gemmaTokenizer } from './gemma-tokenizer.js';
import { hfConfig, SIGLIP_MEAN, SIGLIP_STD, writeJson, writeTokenizerFiles } from './model-files.js';
import { writeOnnx } from './onnx-writer.js';
import { siglipTextGraph, siglipVisionGraph } from './siglip-arch.js';

/**
 * The fixed-resolution SigLIP 2 shapes the builder makes tiny: `b16-224` (google/siglip2-base-patch16-224:
 * patch 16 at 224 px) and `so400m-14` (google/siglip2-so400m-patch14-384's patch 14, at 112 px so it
 * stays tiny; its preprocessing says 112, which proves the size is read from the folder, not assumed).
 */
export type Siglip2Shape = 'b16-224' | 'so400m-14';

/** Options of `writeTinySiglip2Model`. */
export interface TinySiglip2Options {
  shape?: Siglip2Shape;
  seed?: number;
  /**
   * config.json's model_type: `siglip`, as Google's fixed-resolution checkpoints (and their ONNX
   * exports) ship it (they load as SiglipModel), or `siglip2`; the Gemma tokenizer marks SigLIP 2 either way.
   */
  modelType?: 'siglip' | 'siglip2';
}

const SHAPES: Record<Siglip2Shape, { imageSize: number; patchSize: number; hidden: number; repo: string }> = {
  'b16-224': { imageSize: 224, patchSize: 16, hidden: 40, repo: 'google/siglip2-base-patch16-224' },
  'so400m-14': { imageSize: 112, patchSize: 14, hidden: 56, repo: 'google/siglip2-so400m-patch14-384' },
};

/** Embedding width of each tiny SigLIP 2 shape. */
export const TINY_SIGLIP2_DIM: Record<Siglip2Shape, number> = { 'b16-224': 40, 'so400m-14': 56 };

/** The tiny architecture of a SigLIP 2 shape (SigLIP's towers: SigLIP 2 changed training, not the fixed-resolution graph). */
export function tinySiglip2Arch(shape: Siglip2Shape, vocabSize: number): SiglipArch {
  const s = SHAPES[shape];
  const enc = {
    hidden: s.hidden,
    heads: 2,
    intermediate: 4 * s.hidden,
    layers: 2,
    eps: 1e-6,
    act: 'gelu_tanh' as const,
  };
  return {
    family: 'siglip',
    vision: { imageSize: s.imageSize, patchSize: s.patchSize, enc },
    text: { vocabSize, contextLength: 64, enc, projectionSize: s.hidden },
  };
}

/** preprocessor_config.json of a fixed-resolution SigLIP 2 repository: squash to size, bilinear (resample 2), mean/std 0.5. */
export function siglip2PreprocessorConfig(imageSize: number): Record<string, unknown> {
  return {
    do_convert_rgb: null,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: SIGLIP_MEAN,
    image_processor_type: 'SiglipImageProcessor',
    image_std: SIGLIP_STD,
    processor_class: 'SiglipProcessor',
    resample: 2,
    rescale_factor: 1 / 255,
    size: { height: imageSize, width: imageSize },
  };
}

/**
 * Writes a tiny SigLIP 2-shaped model folder in the reference (Hugging Face / onnx-community export)
 * layout: config.json, preprocessor_config.json, tokenizer.json (Gemma-format BPE with byte fallback),
 * tokenizer_config.json, special_tokens_map.json, onnx/vision_model.onnx and onnx/text_model.onnx
 * (SigLIP's inputs and outputs: pixel_values, input_ids -> last_hidden_state, pooler_output).
 */
export async function writeTinySiglip2Model(dir: string, opts: TinySiglip2Options = {}): Promise<void> {
  const shape = opts.shape ?? 'b16-224';
  const seed = opts.seed ?? 11;
  const tok = gemmaTokenizer(64);
  const arch = tinySiglip2Arch(shape, tok.vocabSize);
  const w = { seed };
  const base = hfConfig(arch, tok, {
    kind: 'random',
    seed,
    shape,
    embedding_dim: TINY_SIGLIP2_DIM[shape],
    description: `Generated test model: SigLIP 2 ${shape} shape (${SHAPES[shape].repo}), tiny config, Gemma-format tokenizer, seeded random weights. Embeddings carry no meaning.`,
  });
  const modelType = opts.modelType ?? 'siglip';
  const config = {
    ...base,
    _name_or_path: `model-builder-siglip2-${shape}`,
    architectures: [modelType === 'siglip2' ? 'Siglip2Model' : 'SiglipModel'],
    model_type: modelType,
    text_config: {
      ...(base['text_config'] as object),
      model_type: `${modelType}_text_model`,
      bos_token_id: 2,
    },
    vision_config: { ...(base['vision_config'] as object), model_type: `${modelType}_vision_model` },
  };
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeJson(join(dir, 'config.json'), config);
  await writeJson(join(dir, 'preprocessor_config.json'), siglip2PreprocessorConfig(arch.vision.imageSize));
  await writeTokenizerFiles(dir, tok);
  await writeOnnx(join(dir, 'onnx', 'vision_model.onnx'), siglipVisionGraph(arch, w));
  await writeOnnx(join(dir, 'onnx', 'text_model.onnx'), siglipTextGraph(arch, w));
}
