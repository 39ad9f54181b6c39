// Original file: proto/embedder.proto

import type { TowerStatus as _imagesearch_embedder_v1_TowerStatus, TowerStatus__Output as _imagesearch_embedder_v1_TowerStatus__Output } from '../../../imagesearch/embedder/v1/TowerStatus.js';
import type { Long } from '@grpc/proto-loader';

export interface InfoResponse {
  /**
   * e.g. "ViT-B-16-SigLIP/webli"
   */
  'modelId'?: (string);
  /**
   * "clip" or "siglip"
   */
  'family'?: (string);
  'embeddingDim'?: (number);
  /**
   * outputs are L2-normalised
   */
  'normalized'?: (boolean);
  /**
   * text tokens per query
   */
  'contextLength'?: (number);
  /**
   * model input side in pixels
   */
  'imageSize'?: (number);
  /**
   * "cpu" or "cuda" (what actually runs)
   */
  'executionProvider'?: (string);
  /**
   * the most items one inference batch holds
   */
  'maxBatchSize'?: (number);
  /**
   * how long the batcher waits to fill a batch
   */
  'maxBatchWaitMs'?: (number);
  /**
   * the most items one RPC may carry
   */
  'maxRequestItems'?: (number);
  'maxImageBytes'?: (number | string | Long);
  'maxImagePixels'?: (number | string | Long);
  /**
   * "fp32", "fp16" or "quantized"
   */
  'variant'?: (string);
  /**
   * "hf" (transformers.js) or "immich"
   */
  'layout'?: (string);
  /**
   * items the batch queue holds before RESOURCE_EXHAUSTED
   */
  'queueCapacity'?: (number);
  'modelDir'?: (string);
  /**
   * the largest request message the server accepts
   */
  'maxMessageBytes'?: (number | string | Long);
  /**
   * longer texts are a per-item INPUT_TOO_LARGE
   */
  'maxTextChars'?: (number);
  /**
   * "sha256:<64 hex>" over everything that changes the embeddings (both towers' weights, the
   * preprocessing, the tokenizer, the context length, family and variant); the same model gives
   * the same fingerprint on every machine. Writers compare it with their collection's.
   */
  'fingerprint'?: (string);
  /**
   * Each tower's state now. With idle_unload_s > 0 a tower idle that long is unloaded (its memory
   * returned) and the next call that needs it waits while it loads again; health stays SERVING.
   */
  'towers'?: (_imagesearch_embedder_v1_TowerStatus)[];
  /**
   * MODEL_IDLE_UNLOAD_S; 0 = towers stay loaded
   */
  'idleUnloadS'?: (number);
}

export interface InfoResponse__Output {
  /**
   * e.g. "ViT-B-16-SigLIP/webli"
   */
  'modelId': (string);
  /**
   * "clip" or "siglip"
   */
  'family': (string);
  'embeddingDim': (number);
  /**
   * outputs are L2-normalised
   */
  'normalized': (boolean);
  /**
   * text tokens per query
   */
  'contextLength': (number);
  /**
   * model input side in pixels
   */
  'imageSize': (number);
  /**
   * "cpu" or "cuda" (what actually runs)
   */
  'executionProvider': (string);
  /**
   * the most items one inference batch holds
   */
  'maxBatchSize': (number);
  /**
   * how long the batcher waits to fill a batch
   */
  'maxBatchWaitMs': (number);
  /**
   * the most items one RPC may carry
   */
  'maxRequestItems': (number);
  'maxImageBytes': (string);
  'maxImagePixels': (string);
  /**
   * "fp32", "fp16" or "quantized"
   */
  'variant': (string);
  /**
   * "hf" (transformers.js) or "immich"
   */
  'layout': (string);
  /**
   * items the batch queue holds before RESOURCE_EXHAUSTED
   */
  'queueCapacity': (number);
  'modelDir': (string);
  /**
   * the largest request message the server accepts
   */
  'maxMessageBytes': (string);
  /**
   * longer texts are a per-item INPUT_TOO_LARGE
   */
  'maxTextChars': (number);
  /**
   * "sha256:<64 hex>" over everything that changes the embeddings (both towers' weights, the
   * preprocessing, the tokenizer, the context length, family and variant); the same model gives
   * the same fingerprint on every machine. Writers compare it with their collection's.
   */
  'fingerprint': (string);
  /**
   * Each tower's state now. With idle_unload_s > 0 a tower idle that long is unloaded (its memory
   * returned) and the next call that needs it waits while it loads again; health stays SERVING.
   */
  'towers': (_imagesearch_embedder_v1_TowerStatus__Output)[];
  /**
   * MODEL_IDLE_UNLOAD_S; 0 = towers stay loaded
   */
  'idleUnloadS': (number);
}
