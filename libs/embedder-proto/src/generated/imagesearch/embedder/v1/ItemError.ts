// Original file: proto/embedder.proto

import type { ItemErrorReason as _imagesearch_embedder_v1_ItemErrorReason, ItemErrorReason__Output as _imagesearch_embedder_v1_ItemErrorReason__Output } from '../../../imagesearch/embedder/v1/ItemErrorReason.js';

export interface ItemError {
  'reason'?: (_imagesearch_embedder_v1_ItemErrorReason);
  'message'?: (string);
}

export interface ItemError__Output {
  'reason': (_imagesearch_embedder_v1_ItemErrorReason__Output);
  'message': (string);
}
