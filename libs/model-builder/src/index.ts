/** Writes a complete tiny CLIP- or SigLIP-shaped model folder (tokenizer, configs, ONNX graphs). */
export { writeTinyModel, TINY_MODEL_VERSION, TINY_EMBEDDING_DIM, type TinyModelOptions } from './tiny-model.js';
/** Colour words the 'colour' models understand and the sRGB colour each stands for. */
export { COLOUR_WORDS, COLOUR_RGB, COLOUR_ALIASES, type ColourWord } from './colours.js';
/** Architectures: real full-size configs, tiny test configs, and their parameter counts. */
export {
  CLIP_VIT_B32,
  SIGLIP_B16_224,
  tinyClipArch,
  tinySiglipArch,
  paramCounts,
  embeddingDim,
  type ClipArch,
  type SiglipArch,
  type ModelArch,
} from './configs.js';
/** Model families the builder writes. */
export type { Family } from './model-files.js';
/** Full-size (or any architecture's) random-weight models, fp32 and int8, in the transformers.js layout. */
export {
  writeBenchModel,
  writeArchModel,
  archModelPlan,
  benchArch,
  type BenchVariant,
  type BenchProgress,
  type BenchModelOptions,
} from './bench-model.js';
/** Tiny SigLIP 2-shaped models (B/16-224, So400m/14) in the reference layout, with a Gemma-format tokenizer. */
export {
  writeTinySiglip2Model,
  tinySiglip2Arch,
  siglip2PreprocessorConfig,
  TINY_SIGLIP2_DIM,
  type Siglip2Shape,
  type TinySiglip2Options,
} from './siglip2-model.js';
/** The generated Gemma tokenizer (SigLIP 2's format: BPE, byte fallback, `<pad>` 0 / `<eos>` 1 / `<bos>` 2 / `<unk>` 3). */
export { gemmaTokenizer, gemmaPieceId, GEMMA_SPECIAL, GEMMA_BYTE_BASE } from './gemma-tokenizer.js';
