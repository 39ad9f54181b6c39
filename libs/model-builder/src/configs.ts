import { encoderParams, type EncoderConfig } from './layers.js';

/** A CLIP (OpenAI / HF CLIPModel) architecture. */
export interface ClipArch {
  family: 'clip';
  projectionDim: number;
  vision: { imageSize: number; patchSize: number; enc: EncoderConfig };
  text: { vocabSize: number; contextLength: number; enc: EncoderConfig };
}

/** A SigLIP (HF SiglipModel) architecture. `text.projectionSize` is the text head's output width. */
export interface SiglipArch {
  family: 'siglip';
  vision: { imageSize: number; patchSize: number; enc: EncoderConfig };
  text: { vocabSize: number; contextLength: number; enc: EncoderConfig; projectionSize: number };
}

export type ModelArch = ClipArch | SiglipArch;

const clipEnc = (hidden: number, heads: number, layers: number): EncoderConfig => ({
  hidden,
  heads,
  intermediate: 4 * hidden,
  layers,
  eps: 1e-5,
  act: 'quick_gelu',
});
const siglipEnc = (hidden: number, heads: number, layers: number, intermediate = 4 * hidden): EncoderConfig => ({
  hidden,
  heads,
  intermediate,
  layers,
  eps: 1e-6,
  act: 'gelu_tanh',
});

/** openai/clip-vit-base-patch32. */
export const CLIP_VIT_B32: ClipArch = {
  family: 'clip',
  projectionDim: 512,
  vision: { imageSize: 224, patchSize: 32, enc: clipEnc(768, 12, 12) },
  text: { vocabSize: 49408, contextLength: 77, enc: clipEnc(512, 8, 12) },
};

/** google/siglip-base-patch16-224. */
export const SIGLIP_B16_224: SiglipArch = {
  family: 'siglip',
  vision: { imageSize: 224, patchSize: 16, enc: siglipEnc(768, 12, 12, 3072) },
  text: { vocabSize: 32000, contextLength: 64, enc: siglipEnc(768, 12, 12, 3072), projectionSize: 768 },
};

/** Tiny CLIP for tests: same graph as ViT-B/32, 32-d embeddings. */
export function tinyClipArch(vocabSize: number): ClipArch {
  return {
    family: 'clip',
    projectionDim: 32,
    vision: { imageSize: 224, patchSize: 32, enc: clipEnc(32, 2, 2) },
    text: { vocabSize, contextLength: 77, enc: clipEnc(32, 2, 2) },
  };
}

/** Tiny SigLIP for tests: same graph as B/16-224, 48-d embeddings. */
export function tinySiglipArch(vocabSize: number): SiglipArch {
  return {
    family: 'siglip',
    vision: { imageSize: 224, patchSize: 16, enc: siglipEnc(48, 2, 2) },
    text: { vocabSize, contextLength: 64, enc: siglipEnc(48, 2, 2), projectionSize: 48 },
  };
}

/** The embedding width both towers produce. */
export function embeddingDim(arch: ModelArch): number {
  return arch.family === 'clip' ? arch.projectionDim : arch.vision.enc.hidden;
}

/** Parameter counts of each tower, from the architecture alone (no graph needed). */
export function paramCounts(arch: ModelArch): { vision: number; text: number } {
  const v = arch.vision;
  const h = v.enc.hidden;
  const patches = (v.imageSize / v.patchSize) ** 2;
  const t = arch.text;
  const d = t.enc.hidden;
  if (arch.family === 'clip') {
    return {
      vision:
        h * 3 * v.patchSize ** 2 +
        h +
        (patches + 1) * h +
        2 * h +
        encoderParams(v.enc) +
        2 * h +
        h * arch.projectionDim,
      text: t.vocabSize * d + t.contextLength * d + encoderParams(t.enc) + 2 * d + d * arch.projectionDim,
    };
  }
  const i = v.enc.intermediate;
  const head = h + 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h);
  return {
    vision: h * 3 * v.patchSize ** 2 + h + patches * h + encoderParams(v.enc) + 2 * h + head,
    text:
      t.vocabSize * d +
      t.contextLength * d +
      encoderParams(t.enc) +
      2 * d +
      (d * arch.text.projectionSize + arch.text.projectionSize),
  };
}
