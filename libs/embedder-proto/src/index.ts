import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/embedder.js';

export type { ProtoGrpcType } from './generated/embedder.js';
export type {
  EmbedderClient,
  EmbedderHandlers,
  EmbedderDefinition,
} from './generated/imagesearch/embedder/v1/Embedder.js';
export type {
  EmbedTextsRequest,
  EmbedTextsRequest__Output,
} from './generated/imagesearch/embedder/v1/EmbedTextsRequest.js';
export type {
  EmbedImagesRequest,
  EmbedImagesRequest__Output,
} from './generated/imagesearch/embedder/v1/EmbedImagesRequest.js';
export type { EmbedResponse, EmbedResponse__Output } from './generated/imagesearch/embedder/v1/EmbedResponse.js';
export type { EmbedResult, EmbedResult__Output } from './generated/imagesearch/embedder/v1/EmbedResult.js';
export type { ItemError, ItemError__Output } from './generated/imagesearch/embedder/v1/ItemError.js';
export type { ItemErrorReason, ItemErrorReason__Output } from './generated/imagesearch/embedder/v1/ItemErrorReason.js';
export type { InfoResponse, InfoResponse__Output } from './generated/imagesearch/embedder/v1/InfoResponse.js';
export type { ImageInput } from './generated/imagesearch/embedder/v1/ImageInput.js';

/** Folder holding the .proto files (the repository's `proto/`). */
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../proto');

/** The loader options the generated types were made with; runtime loading must match them. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let cached: ProtoGrpcType | undefined;

/** Loads proto/embedder.proto once and returns the typed gRPC package. */
export function loadEmbedderProto(): ProtoGrpcType {
  cached ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('embedder.proto', PROTO_LOADER_OPTIONS),
  ) as unknown as ProtoGrpcType;
  return cached;
}

/** Fully-qualified service name, as used by grpc.health.v1 checks. */
export const EMBEDDER_SERVICE_NAME = 'imagesearch.embedder.v1.Embedder';

/** Every per-item error reason in the proto, for exhaustive handling (the shared catalogue's list). */
export { ITEM_ERROR_REASONS, type ItemErrorReason as ItemReason } from '@image-search/image-formats/item-errors';

let cachedHealth: import('./generated/health.js').ProtoGrpcType | undefined;

/** Loads the standard grpc.health.v1 proto (for health clients). */
export function loadHealthProto(): import('./generated/health.js').ProtoGrpcType {
  cachedHealth ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('grpc/health/v1/health.proto', PROTO_LOADER_OPTIONS),
  ) as unknown as import('./generated/health.js').ProtoGrpcType;
  return cachedHealth;
}
