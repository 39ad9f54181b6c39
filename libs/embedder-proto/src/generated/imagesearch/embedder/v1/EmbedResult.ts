// Original file: proto/embedder.proto

import type { ItemError as _imagesearch_embedder_v1_ItemError, ItemError__Output as _imagesearch_embedder_v1_ItemError__Output } from '../../../imagesearch/embedder/v1/ItemError.js';

export interface EmbedResult {
  /**
   * The L2-normalised embedding as little-endian float32 values (dim * 4 bytes). Raw bytes
   * rather than `repeated float` because they encode and decode without per-value work.
   */
  'embedding'?: (Buffer | Uint8Array | string);
  'error'?: (_imagesearch_embedder_v1_ItemError | null);
  'result'?: "embedding"|"error";
}

export interface EmbedResult__Output {
  /**
   * The L2-normalised embedding as little-endian float32 values (dim * 4 bytes). Raw bytes
   * rather than `repeated float` because they encode and decode without per-value work.
   */
  'embedding'?: (Buffer);
  'error'?: (_imagesearch_embedder_v1_ItemError__Output | null);
  'result'?: "embedding"|"error";
}
