// Original file: proto/embedder.proto

import type { EmbedResult as _imagesearch_embedder_v1_EmbedResult, EmbedResult__Output as _imagesearch_embedder_v1_EmbedResult__Output } from '../../../imagesearch/embedder/v1/EmbedResult.js';

export interface EmbedResponse {
  /**
   * One result per input item, in input order.
   */
  'results'?: (_imagesearch_embedder_v1_EmbedResult)[];
  'modelId'?: (string);
  'dim'?: (number);
}

export interface EmbedResponse__Output {
  /**
   * One result per input item, in input order.
   */
  'results': (_imagesearch_embedder_v1_EmbedResult__Output)[];
  'modelId': (string);
  'dim': (number);
}
