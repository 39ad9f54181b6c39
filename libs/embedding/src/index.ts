export * from './model.types.js';
export {
  DEFAULT_MODELS,
  modelFolderName,
  resolveHubModel,
  resolveModelDir,
  type HubModelRef,
} from './model-registry.js';
/** Loads a CLIP/SigLIP model folder (transformers.js or immich layout); the model class with its extra batch helpers. */
export { loadEmbeddingModel, OnnxEmbeddingModel, DYNAMIC_BATCH_LIMIT, towerDim } from './embedding-model.js';
/** The libvips image pipeline, its default limits and the prepared-pixels shape. */
export { ImagePreprocessor, DEFAULT_IMAGE_LIMITS, type PreparedPixels } from './image-preprocessor.js';
/** The same pipeline in killable decode worker processes with a per-image time budget (MAX_DECODE_MS). */
export { PooledImagePreprocessor, type DecodeBudget } from './pooled-preprocessor.js';
/** Image preprocessing spec read from a model's config, and torchvision's resize/crop geometry. */
export { resizeGeometry, pyRound, type ImagePreprocessSpec, type ResizeKernel } from './image-spec.js';
/** Reference text cleaning (OpenAI CLIP, SigLIP canonicalisation) and the tokenizer built from tokenizer.json. */
export {
  clipCleanText,
  siglipCanonicalize,
  siglip2Clean,
  createTextTokenizer,
  encodeBatch,
  type TextStyle,
  type TextTokenizer,
  type TokenRows,
} from './text-tokenizer.js';
/** Model folder detection and reading (layout, family, variant files, configs). */
export { readModelFolder, detectLayout, type ModelFolder } from './model-folder.js';
/** DEVICE parsing, CPU core counting and the CUDA install hint. */
export {
  parseDevice,
  physicalCoreCount,
  cgroupCpuLimit,
  defaultIntraOpThreads,
  CUDA_INSTALL_HINT,
  type DeviceChoice,
} from './onnx-session.js';
/** Vector helpers: L2 normalisation and cosine. */
export { l2Normalized, cosine } from './tensor-utils.js';
/** The fingerprint of everything that changes a model's embeddings (weights, preprocessing, tokenizer, variant). */
export { modelFingerprint } from './model-fingerprint.js';
