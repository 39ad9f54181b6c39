// Original file: proto/embedder.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { EmbedImagesRequest as _imagesearch_embedder_v1_EmbedImagesRequest, EmbedImagesRequest__Output as _imagesearch_embedder_v1_EmbedImagesRequest__Output } from '../../../imagesearch/embedder/v1/EmbedImagesRequest.js';
import type { EmbedResponse as _imagesearch_embedder_v1_EmbedResponse, EmbedResponse__Output as _imagesearch_embedder_v1_EmbedResponse__Output } from '../../../imagesearch/embedder/v1/EmbedResponse.js';
import type { EmbedTextsRequest as _imagesearch_embedder_v1_EmbedTextsRequest, EmbedTextsRequest__Output as _imagesearch_embedder_v1_EmbedTextsRequest__Output } from '../../../imagesearch/embedder/v1/EmbedTextsRequest.js';
import type { InfoRequest as _imagesearch_embedder_v1_InfoRequest, InfoRequest__Output as _imagesearch_embedder_v1_InfoRequest__Output } from '../../../imagesearch/embedder/v1/InfoRequest.js';
import type { InfoResponse as _imagesearch_embedder_v1_InfoResponse, InfoResponse__Output as _imagesearch_embedder_v1_InfoResponse__Output } from '../../../imagesearch/embedder/v1/InfoResponse.js';

export interface EmbedderClient extends grpc.Client {
  /**
   * Embeds a batch of encoded image files (JPEG, PNG, WebP, GIF, TIFF, AVIF). Images are sent
   * encoded, never as decoded tensors (those are about 60 times larger on the wire).
   */
  EmbedImages(argument: _imagesearch_embedder_v1_EmbedImagesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  EmbedImages(argument: _imagesearch_embedder_v1_EmbedImagesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  EmbedImages(argument: _imagesearch_embedder_v1_EmbedImagesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  EmbedImages(argument: _imagesearch_embedder_v1_EmbedImagesRequest, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Embeds a batch of encoded image files (JPEG, PNG, WebP, GIF, TIFF, AVIF). Images are sent
   * encoded, never as decoded tensors (those are about 60 times larger on the wire).
   */
  embedImages(argument: _imagesearch_embedder_v1_EmbedImagesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embedImages(argument: _imagesearch_embedder_v1_EmbedImagesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embedImages(argument: _imagesearch_embedder_v1_EmbedImagesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embedImages(argument: _imagesearch_embedder_v1_EmbedImagesRequest, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Embeds a batch of texts (search queries). Per-item failures come back per item.
   */
  EmbedTexts(argument: _imagesearch_embedder_v1_EmbedTextsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  EmbedTexts(argument: _imagesearch_embedder_v1_EmbedTextsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  EmbedTexts(argument: _imagesearch_embedder_v1_EmbedTextsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  EmbedTexts(argument: _imagesearch_embedder_v1_EmbedTextsRequest, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Embeds a batch of texts (search queries). Per-item failures come back per item.
   */
  embedTexts(argument: _imagesearch_embedder_v1_EmbedTextsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embedTexts(argument: _imagesearch_embedder_v1_EmbedTextsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embedTexts(argument: _imagesearch_embedder_v1_EmbedTextsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embedTexts(argument: _imagesearch_embedder_v1_EmbedTextsRequest, callback: grpc.requestCallback<_imagesearch_embedder_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Describes the loaded model and the server's limits.
   */
  Info(argument: _imagesearch_embedder_v1_InfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _imagesearch_embedder_v1_InfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_imagesearch_embedder_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _imagesearch_embedder_v1_InfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _imagesearch_embedder_v1_InfoRequest, callback: grpc.requestCallback<_imagesearch_embedder_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Describes the loaded model and the server's limits.
   */
  info(argument: _imagesearch_embedder_v1_InfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _imagesearch_embedder_v1_InfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_imagesearch_embedder_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _imagesearch_embedder_v1_InfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_imagesearch_embedder_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _imagesearch_embedder_v1_InfoRequest, callback: grpc.requestCallback<_imagesearch_embedder_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface EmbedderHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Embeds a batch of encoded image files (JPEG, PNG, WebP, GIF, TIFF, AVIF). Images are sent
   * encoded, never as decoded tensors (those are about 60 times larger on the wire).
   */
  EmbedImages: grpc.handleUnaryCall<_imagesearch_embedder_v1_EmbedImagesRequest__Output, _imagesearch_embedder_v1_EmbedResponse>;
  
  /**
   * Embeds a batch of texts (search queries). Per-item failures come back per item.
   */
  EmbedTexts: grpc.handleUnaryCall<_imagesearch_embedder_v1_EmbedTextsRequest__Output, _imagesearch_embedder_v1_EmbedResponse>;
  
  /**
   * Describes the loaded model and the server's limits.
   */
  Info: grpc.handleUnaryCall<_imagesearch_embedder_v1_InfoRequest__Output, _imagesearch_embedder_v1_InfoResponse>;
  
}

export interface EmbedderDefinition extends grpc.ServiceDefinition {
  EmbedImages: MethodDefinition<_imagesearch_embedder_v1_EmbedImagesRequest, _imagesearch_embedder_v1_EmbedResponse, _imagesearch_embedder_v1_EmbedImagesRequest__Output, _imagesearch_embedder_v1_EmbedResponse__Output>
  EmbedTexts: MethodDefinition<_imagesearch_embedder_v1_EmbedTextsRequest, _imagesearch_embedder_v1_EmbedResponse, _imagesearch_embedder_v1_EmbedTextsRequest__Output, _imagesearch_embedder_v1_EmbedResponse__Output>
  Info: MethodDefinition<_imagesearch_embedder_v1_InfoRequest, _imagesearch_embedder_v1_InfoResponse, _imagesearch_embedder_v1_InfoRequest__Output, _imagesearch_embedder_v1_InfoResponse__Output>
}
