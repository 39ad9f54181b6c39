// Original file: proto/embedder.proto

import type { ImageInput as _imagesearch_embedder_v1_ImageInput, ImageInput__Output as _imagesearch_embedder_v1_ImageInput__Output } from '../../../imagesearch/embedder/v1/ImageInput.js';

export interface EmbedImagesRequest {
  'images'?: (_imagesearch_embedder_v1_ImageInput)[];
}

export interface EmbedImagesRequest__Output {
  'images': (_imagesearch_embedder_v1_ImageInput__Output)[];
}
