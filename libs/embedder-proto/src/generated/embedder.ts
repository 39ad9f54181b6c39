import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { EmbedImagesRequest as _imagesearch_embedder_v1_EmbedImagesRequest, EmbedImagesRequest__Output as _imagesearch_embedder_v1_EmbedImagesRequest__Output } from './imagesearch/embedder/v1/EmbedImagesRequest.js';
import type { EmbedResponse as _imagesearch_embedder_v1_EmbedResponse, EmbedResponse__Output as _imagesearch_embedder_v1_EmbedResponse__Output } from './imagesearch/embedder/v1/EmbedResponse.js';
import type { EmbedResult as _imagesearch_embedder_v1_EmbedResult, EmbedResult__Output as _imagesearch_embedder_v1_EmbedResult__Output } from './imagesearch/embedder/v1/EmbedResult.js';
import type { EmbedTextsRequest as _imagesearch_embedder_v1_EmbedTextsRequest, EmbedTextsRequest__Output as _imagesearch_embedder_v1_EmbedTextsRequest__Output } from './imagesearch/embedder/v1/EmbedTextsRequest.js';
import type { EmbedderClient as _imagesearch_embedder_v1_EmbedderClient, EmbedderDefinition as _imagesearch_embedder_v1_EmbedderDefinition } from './imagesearch/embedder/v1/Embedder.js';
import type { ImageInput as _imagesearch_embedder_v1_ImageInput, ImageInput__Output as _imagesearch_embedder_v1_ImageInput__Output } from './imagesearch/embedder/v1/ImageInput.js';
import type { InfoRequest as _imagesearch_embedder_v1_InfoRequest, InfoRequest__Output as _imagesearch_embedder_v1_InfoRequest__Output } from './imagesearch/embedder/v1/InfoRequest.js';
import type { InfoResponse as _imagesearch_embedder_v1_InfoResponse, InfoResponse__Output as _imagesearch_embedder_v1_InfoResponse__Output } from './imagesearch/embedder/v1/InfoResponse.js';
import type { ItemError as _imagesearch_embedder_v1_ItemError, ItemError__Output as _imagesearch_embedder_v1_ItemError__Output } from './imagesearch/embedder/v1/ItemError.js';
import type { TowerStatus as _imagesearch_embedder_v1_TowerStatus, TowerStatus__Output as _imagesearch_embedder_v1_TowerStatus__Output } from './imagesearch/embedder/v1/TowerStatus.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  imagesearch: {
    embedder: {
      v1: {
        EmbedImagesRequest: MessageTypeDefinition<_imagesearch_embedder_v1_EmbedImagesRequest, _imagesearch_embedder_v1_EmbedImagesRequest__Output>
        EmbedResponse: MessageTypeDefinition<_imagesearch_embedder_v1_EmbedResponse, _imagesearch_embedder_v1_EmbedResponse__Output>
        EmbedResult: MessageTypeDefinition<_imagesearch_embedder_v1_EmbedResult, _imagesearch_embedder_v1_EmbedResult__Output>
        EmbedTextsRequest: MessageTypeDefinition<_imagesearch_embedder_v1_EmbedTextsRequest, _imagesearch_embedder_v1_EmbedTextsRequest__Output>
        Embedder: SubtypeConstructor<typeof grpc.Client, _imagesearch_embedder_v1_EmbedderClient> & { service: _imagesearch_embedder_v1_EmbedderDefinition }
        ImageInput: MessageTypeDefinition<_imagesearch_embedder_v1_ImageInput, _imagesearch_embedder_v1_ImageInput__Output>
        InfoRequest: MessageTypeDefinition<_imagesearch_embedder_v1_InfoRequest, _imagesearch_embedder_v1_InfoRequest__Output>
        InfoResponse: MessageTypeDefinition<_imagesearch_embedder_v1_InfoResponse, _imagesearch_embedder_v1_InfoResponse__Output>
        ItemError: MessageTypeDefinition<_imagesearch_embedder_v1_ItemError, _imagesearch_embedder_v1_ItemError__Output>
        ItemErrorReason: EnumTypeDefinition
        TowerStatus: MessageTypeDefinition<_imagesearch_embedder_v1_TowerStatus, _imagesearch_embedder_v1_TowerStatus__Output>
      }
    }
  }
}

