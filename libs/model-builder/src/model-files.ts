import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ModelArch } from './configs.js';
import type { GeneratedTokenizer } from './tokenizers.js';

/** Model families the builder writes. */
export type Family = 'clip' | 'siglip';

export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
export const SIGLIP_MEAN: [number, number, number] = [0.5, 0.5, 0.5];
export const SIGLIP_STD: [number, number, number] = [0.5, 0.5, 0.5];

/** Pixel normalisation of a family. */
export function pixelNorm(family: Family): { mean: [number, number, number]; std: [number, number, number] } {
  return family === 'clip' ? { mean: CLIP_MEAN, std: CLIP_STD } : { mean: SIGLIP_MEAN, std: SIGLIP_STD };
}

/** Writes pretty JSON, creating parent folders. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** preprocessor_config.json as in the real Hugging Face repositories (same keys as the fixtures). */
export function preprocessorConfig(family: Family, imageSize = 224): Record<string, unknown> {
  if (family === 'clip') {
    return {
      crop_size: { height: imageSize, width: imageSize },
      do_center_crop: true,
      do_convert_rgb: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: CLIP_MEAN,
      image_processor_type: 'CLIPImageProcessor',
      image_std: CLIP_STD,
      resample: 3,
      rescale_factor: 1 / 255,
      size: { shortest_edge: imageSize },
    };
  }
  return {
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_processor_type: 'SiglipImageProcessor',
    image_mean: SIGLIP_MEAN,
    processor_class: 'SiglipProcessor',
    resample: 3,
    rescale_factor: 1 / 255,
    size: { height: imageSize, width: imageSize },
    image_std: SIGLIP_STD,
  };
}

/** What the builder records about how a folder was made (in config.json under `model_builder`). */
export interface BuildInfo {
  kind: 'colour' | 'random';
  seed: number;
  description: string;
  [key: string]: unknown;
}

/** Hugging Face config.json for an architecture (model_type clip / siglip). */
export function hfConfig(arch: ModelArch, tok: GeneratedTokenizer, info: BuildInfo): Record<string, unknown> {
  const enc = (e: ModelArch['vision']['enc']) => ({
    hidden_size: e.hidden,
    intermediate_size: e.intermediate,
    num_hidden_layers: e.layers,
    num_attention_heads: e.heads,
    hidden_act: e.act === 'quick_gelu' ? 'quick_gelu' : 'gelu_pytorch_tanh',
    layer_norm_eps: e.eps,
  });
  if (arch.family === 'clip') {
    return {
      _name_or_path: `model-builder-clip-${info.kind}`,
      architectures: ['CLIPModel'],
      model_type: 'clip',
      projection_dim: arch.projectionDim,
      logit_scale_init_value: 2.6592,
      initializer_factor: 1.0,
      text_config: {
        model_type: 'clip_text_model',
        vocab_size: arch.text.vocabSize,
        ...enc(arch.text.enc),
        max_position_embeddings: arch.text.contextLength,
        projection_dim: arch.projectionDim,
        bos_token_id: tok.eosId - 1,
        eos_token_id: tok.eosId,
        pad_token_id: tok.padId,
      },
      vision_config: {
        model_type: 'clip_vision_model',
        ...enc(arch.vision.enc),
        image_size: arch.vision.imageSize,
        patch_size: arch.vision.patchSize,
        num_channels: 3,
        projection_dim: arch.projectionDim,
      },
      model_builder: info,
    };
  }
  return {
    _name_or_path: `model-builder-siglip-${info.kind}`,
    architectures: ['SiglipModel'],
    model_type: 'siglip',
    initializer_factor: 1.0,
    text_config: {
      model_type: 'siglip_text_model',
      vocab_size: arch.text.vocabSize,
      ...enc(arch.text.enc),
      max_position_embeddings: arch.text.contextLength,
      projection_size: arch.text.projectionSize,
      pad_token_id: tok.padId,
      eos_token_id: tok.eosId,
    },
    vision_config: {
      model_type: 'siglip_vision_model',
      ...enc(arch.vision.enc),
      image_size: arch.vision.imageSize,
      patch_size: arch.vision.patchSize,
      num_channels: 3,
    },
    model_builder: info,
  };
}

/** open_clip model config, as immich's exports ship it next to visual/ and textual/. */
export function openClipConfig(arch: ModelArch, embedDim: number): Record<string, unknown> {
  const v = arch.vision;
  const t = arch.text;
  const base = {
    embed_dim: embedDim,
    vision_cfg: { image_size: v.imageSize, layers: v.enc.layers, width: v.enc.hidden, patch_size: v.patchSize },
    text_cfg: {
      context_length: t.contextLength,
      vocab_size: t.vocabSize,
      width: t.enc.hidden,
      heads: t.enc.heads,
      layers: t.enc.layers,
    },
  };
  if (arch.family === 'clip') return { ...base, quick_gelu: true };
  return {
    ...base,
    init_logit_bias: -10,
    custom_text: true,
    vision_cfg: {
      ...base.vision_cfg,
      timm_model_name: 'vit_base_patch16_siglip_224',
      timm_model_pretrained: false,
      timm_pool: 'map',
      timm_proj: 'none',
    },
    text_cfg: {
      ...base.text_cfg,
      hf_tokenizer_name: 'timm/ViT-B-16-SigLIP',
      tokenizer_kwargs: { clean: 'canonicalize' },
      no_causal_mask: true,
      proj_bias: true,
      pool_type: 'last',
      norm_kwargs: { eps: 1e-6 },
    },
  };
}

/** immich's visual/preprocess_cfg.json (open_clip PreprocessCfg). */
export function immichPreprocessCfg(family: Family, imageSize = 224): Record<string, unknown> {
  const { mean, std } = pixelNorm(family);
  return {
    size: [imageSize, imageSize],
    mode: 'RGB',
    mean,
    std,
    interpolation: 'bicubic',
    resize_mode: family === 'clip' ? 'shortest' : 'squash',
    fill_color: 0,
  };
}

/** Writes tokenizer.json, tokenizer_config.json and (CLIP) special_tokens_map.json into `dir`. */
export async function writeTokenizerFiles(dir: string, tok: GeneratedTokenizer): Promise<void> {
  await writeJson(join(dir, 'tokenizer.json'), tok.tokenizerJson);
  await writeJson(join(dir, 'tokenizer_config.json'), tok.tokenizerConfig);
  if (tok.specialTokensMap) await writeJson(join(dir, 'special_tokens_map.json'), tok.specialTokensMap);
}
