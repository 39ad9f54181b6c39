import type { ModelFamily } from '@image-search/collection-schema';
import { ItemFailure, type ImageLimits, type ItemErrorReason } from '@image-search/image-formats';

/** Folder layouts a model can come in. */
export type ModelLayout = 'hf' | 'immich';
/** Weight variants of the transformers.js layout. */
export type ModelVariant = 'fp32' | 'fp16' | 'quantized';
/** Requested device: `auto` tries CUDA and falls back to CPU loudly. */
export type DeviceRequest = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';

/** What a loaded model reports about itself (feeds the gRPC Info RPC). */
export interface ModelInfo {
  modelId: string;
  family: ModelFamily;
  layout: ModelLayout;
  variant: ModelVariant;
  dim: number;
  contextLength: number;
  imageSize: number;
  executionProvider: 'cpu' | 'cuda';
  /** The largest batch the ONNX graphs accept (1 for immich's fixed-batch exports). */
  maxModelBatch: number;
  modelDir: string;
}

/** Why one input could not be embedded: the shared catalogue's reasons (the proto's ItemErrorReason). */
export type ItemFailureReason = ItemErrorReason;
/** A per-item failure (the rest of the batch goes on), from the shared catalogue. */
export { ItemFailure };
/** Limits applied to image inputs before and during decoding. */
export type { ImageLimits };

/** Where the loader sends loud warnings (a pino Logger fits); e.g. DEVICE=auto falling back to CPU. */
export interface ModelLogger {
  warn(obj: object, msg: string): void;
}

/** Options for loading a model folder. */
export interface LoadModelOptions {
  modelDir: string;
  family?: ModelFamily;
  modelId?: string;
  variant?: ModelVariant;
  device?: DeviceRequest;
  intraOpThreads?: number;
  limits?: Partial<ImageLimits>;
  /** Defaults to console.warn. */
  logger?: ModelLogger;
  /** Which ONNX towers to load (default both); an embedder runs each in its own thread. */
  towers?: ModelTowers;
}

/** The towers a model instance loads. */
export type ModelTowers = 'both' | 'image' | 'text';

/**
 * A loaded CLIP or SigLIP model: tokenization, image preprocessing and the two ONNX towers.
 * Preprocessing and inference are separate so a batcher can decode images concurrently and
 * run one inference per batch. Every vector returned is L2-normalised float32 of length `info.dim`.
 */
export interface EmbeddingModel {
  readonly info: ModelInfo;
  readonly limits: ImageLimits;
  /** Token ids of each text, padded/truncated as the model's reference does (row-major, contextLength per row). */
  tokenize(texts: string[]): BigInt64Array;
  /** Runs the text tower on token ids from `tokenize`. */
  embedTokens(ids: BigInt64Array, count: number): Promise<Float32Array[]>;
  /** Tokenizes and embeds. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** Decodes and preprocesses one encoded image to a [3, S, S] float32 tensor; throws ItemFailure for bad input. */
  preprocessImage(bytes: Uint8Array): Promise<Float32Array>;
  /** Runs the vision tower on preprocessed tensors. */
  embedPixels(pixels: Float32Array[]): Promise<Float32Array[]>;
  /** Runs one warm-up inference on each tower. */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}
