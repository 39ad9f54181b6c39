import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ModelFamily } from '@image-search/collection-schema';
import { AppError } from '@image-search/service-kit';
import { specFromHfPreprocessor, specFromOpenClipPreprocess, type ImagePreprocessSpec } from './image-spec.js';
import type { ModelLayout, ModelVariant } from './model.types.js';
import type { TextStyle } from './text-tokenizer.js';

/** Everything read from a model folder before any session is created. */
export interface ModelFolder {
  dir: string;
  layout: ModelLayout;
  family: ModelFamily;
  variant: ModelVariant;
  visionPath: string;
  textPath: string;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  tokenizerFile: string;
  /** How texts become ids: the family's, or `siglip2` for SigLIP 2's Gemma tokenizer. */
  textStyle: TextStyle;
  contextLength: number;
  image: ImagePreprocessSpec;
  /** Output names to look for, in order. */
  visionOutputs: string[];
  textOutputs: string[];
}

const VARIANT_SUFFIX: Record<ModelVariant, string> = { fp32: '', fp16: '_fp16', quantized: '_quantized' };

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError(
      'INVALID_CONFIG',
      `model file missing or unreadable: ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); is the model fully downloaded? (npx nx run tools:fetch-model)`,
    );
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new AppError('INVALID_CONFIG', `${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function requireFile(path: string, hint: string): string {
  if (!existsSync(path)) throw new AppError('INVALID_CONFIG', `model file missing: ${path} (${hint})`);
  return path;
}

function optionalJson(path: string): Record<string, unknown> {
  return existsSync(path) ? readJson(path) : {};
}

/** Detects the layout: transformers.js (`onnx/`) or immich (`visual/` + `textual/`). */
export function detectLayout(dir: string): ModelLayout {
  if (existsSync(join(dir, 'visual', 'model.onnx')) || existsSync(join(dir, 'textual', 'model.onnx'))) return 'immich';
  if (existsSync(join(dir, 'onnx'))) return 'hf';
  if (!existsSync(dir))
    throw new AppError(
      'INVALID_CONFIG',
      `model folder not found: ${dir} (set MODEL_DIR, or MODELS_DIR with the model name; download with npx nx run tools:fetch-model)`,
    );
  throw new AppError(
    'INVALID_CONFIG',
    `${dir} is not a model folder: expected onnx/vision_model.onnx (Hugging Face / transformers.js layout) or visual/model.onnx (immich layout)`,
  );
}

function familyFromHfConfig(cfg: Record<string, unknown>, dir: string, expected: ModelFamily | undefined): ModelFamily {
  const type = String(cfg['model_type'] ?? '');
  if (type === 'clip' || type === 'siglip') return type;
  // SigLIP 2 is a SigLIP: the same towers, served by the SigLIP embedder (its tokenizer differs).
  if (type === 'siglip2') return 'siglip';
  if (expected && type === '') return expected;
  throw new AppError(
    'INVALID_CONFIG',
    `${join(dir, 'config.json')}: model_type ${JSON.stringify(type)} is none of "clip", "siglip", "siglip2"`,
  );
}

function familyFromOpenClip(cfg: Record<string, unknown>, dir: string, expected: ModelFamily | undefined): ModelFamily {
  const text = (cfg['text_cfg'] ?? {}) as Record<string, unknown>;
  const kwargs = (text['tokenizer_kwargs'] ?? {}) as Record<string, unknown>;
  if (
    cfg['init_logit_bias'] !== undefined ||
    kwargs['clean'] === 'canonicalize' ||
    /siglip/i.test(basename(dir)) ||
    /siglip/i.test(String(text['hf_tokenizer_name'] ?? ''))
  )
    return 'siglip';
  // open_clip configs carry no explicit family; without a SigLIP marker it is CLIP unless the caller says otherwise.
  return expected ?? 'clip';
}

/**
 * SigLIP 2 is told apart by its Gemma tokenizer (the fixed-resolution checkpoints' config.json says
 * model_type "siglip", as they load as SiglipModel); `siglip2` in config.json says so too.
 */
function textStyleOf(
  family: ModelFamily,
  config: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
): TextStyle {
  if (family === 'clip') return 'clip';
  const cls = String(tokenizerConfig['tokenizer_class'] ?? '');
  return /^Gemma/.test(cls) || config['model_type'] === 'siglip2' ? 'siglip2' : 'siglip';
}

/** NaFlex SigLIP 2 (variable resolution, patch sequences with a mask) needs inputs these towers do not take. */
function refuseNaflex(pre: Record<string, unknown>, file: string): void {
  if (pre['image_processor_type'] === 'Siglip2ImageProcessor' || pre['max_num_patches'] !== undefined)
    throw new AppError(
      'INVALID_CONFIG',
      `${file}: this is a NaFlex SigLIP 2 model (variable resolution); only the fixed-resolution SigLIP 2 models (e.g. google/siglip2-base-patch16-224, google/siglip2-so400m-patch14-384) are supported`,
    );
}

function checkFamily(found: ModelFamily, expected: ModelFamily | undefined, dir: string): ModelFamily {
  if (expected && expected !== found) {
    throw new AppError(
      'INVALID_CONFIG',
      `the model at ${dir} is a ${found} model, but a ${expected} model was asked for; point MODEL_DIR (or MODELS_DIR and the model name) at a ${expected} model`,
      {
        details: { expected, found, modelDir: dir },
      },
    );
  }
  return found;
}

/** Reads a model folder of either layout; `family` is the family expected (a mismatch is an error), `variant` picks the ONNX files (HF layout). */
export function readModelFolder(dir: string, opts: { family?: ModelFamily; variant?: ModelVariant } = {}): ModelFolder {
  const layout = detectLayout(dir);
  const variant = opts.variant ?? 'fp32';
  const config = readJson(join(dir, 'config.json'));
  if (layout === 'hf') {
    const family = checkFamily(familyFromHfConfig(config, dir, opts.family), opts.family, dir);
    const sfx = VARIANT_SUFFIX[variant];
    const hint = `variant ${variant}; choose MODEL_VARIANT=fp32|fp16|quantized to match the files present`;
    const textCfg = (config['text_config'] ?? {}) as Record<string, unknown>;
    const tokenizerConfig = optionalJson(join(dir, 'tokenizer_config.json'));
    const contextLength = Number(
      textCfg['max_position_embeddings'] ?? tokenizerConfig['model_max_length'] ?? (family === 'clip' ? 77 : 64),
    );
    const preFile = join(dir, 'preprocessor_config.json');
    const pre = readJson(preFile);
    refuseNaflex(pre, preFile);
    return {
      dir,
      layout,
      family,
      variant,
      visionPath: requireFile(join(dir, 'onnx', `vision_model${sfx}.onnx`), hint),
      textPath: requireFile(join(dir, 'onnx', `text_model${sfx}.onnx`), hint),
      tokenizerJson: readJson(requireFile(join(dir, 'tokenizer.json'), 'the tokenizer')),
      tokenizerConfig,
      tokenizerFile: join(dir, 'tokenizer.json'),
      textStyle: textStyleOf(family, config, tokenizerConfig),
      contextLength,
      image: specFromHfPreprocessor(pre, family, preFile),
      visionOutputs: family === 'clip' ? ['image_embeds'] : ['pooler_output', 'image_embeds'],
      textOutputs: family === 'clip' ? ['text_embeds'] : ['pooler_output', 'text_embeds'],
    };
  }
  if (variant !== 'fp32') {
    // immich ships one fp32 export per tower (plus optional armnn/rknn builds we do not run).
    throw new AppError(
      'INVALID_CONFIG',
      `${dir}: the immich layout has only fp32 models (MODEL_VARIANT=${variant} asked)`,
    );
  }
  const family = checkFamily(familyFromOpenClip(config, dir, opts.family), opts.family, dir);
  const textCfg = (config['text_cfg'] ?? {}) as Record<string, unknown>;
  const tokenizerConfig = optionalJson(join(dir, 'textual', 'tokenizer_config.json'));
  const preFile = join(dir, 'visual', 'preprocess_cfg.json');
  return {
    dir,
    layout,
    family,
    variant,
    visionPath: requireFile(join(dir, 'visual', 'model.onnx'), 'the image tower'),
    textPath: requireFile(join(dir, 'textual', 'model.onnx'), 'the text tower'),
    tokenizerJson: readJson(requireFile(join(dir, 'textual', 'tokenizer.json'), 'the tokenizer')),
    tokenizerConfig,
    tokenizerFile: join(dir, 'textual', 'tokenizer.json'),
    textStyle: textStyleOf(family, config, tokenizerConfig),
    contextLength: Number(
      textCfg['context_length'] ?? tokenizerConfig['model_max_length'] ?? (family === 'clip' ? 77 : 64),
    ),
    image: specFromOpenClipPreprocess(readJson(requireFile(preFile, 'the preprocessing config')), preFile),
    visionOutputs: ['embedding', 'image_embeds', 'pooler_output'],
    textOutputs: ['embedding', 'text_embeds', 'pooler_output'],
  };
}
