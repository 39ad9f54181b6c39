import type { ItemErrorReason } from '@image-search/image-formats/item-errors';

/** Per-item outcome of an embed call: a vector, or the machine-readable reason it failed. */
export type EmbedItemResult =
  | { ok: true; vector: Float32Array }
  | {
      ok: false;
      reason: ItemErrorReason | 'UNSPECIFIED';
      message: string;
    };

/** What an embedder reports about its model and limits (the Info RPC, camelCased). */
export interface EmbedderInfo {
  modelId: string;
  family: 'clip' | 'siglip';
  embeddingDim: number;
  normalized: boolean;
  contextLength: number;
  imageSize: number;
  executionProvider: string;
  maxBatchSize: number;
  maxBatchWaitMs: number;
  maxRequestItems: number;
  maxImageBytes: number;
  maxImagePixels: number;
  variant: string;
  layout: string;
  queueCapacity: number;
  /** The largest request message the server accepts (older servers: absent). */
  maxMessageBytes?: number;
  /** Longer texts are a per-item INPUT_TOO_LARGE (older servers: absent). */
  maxTextChars?: number;
  /** The model folder on the server. */
  modelDir?: string;
  /** `sha256:<hex>` over everything that changes the embeddings (older servers: absent). */
  fingerprint?: string;
}

/** Options for one call. */
export interface CallOptions {
  /** Per-call deadline in ms (the client's default otherwise). */
  deadlineMs?: number;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/**
 * Typed client of one embedder service. Whole-call failures reject with an AppError
 * (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INVALID_ARGUMENT...); per-item failures resolve.
 */
export interface EmbedderApi {
  embedTexts(texts: string[], opts?: CallOptions): Promise<EmbedItemResult[]>;
  embedImages(images: { data: Uint8Array; id?: string }[], opts?: CallOptions): Promise<EmbedItemResult[]>;
  info(opts?: CallOptions): Promise<EmbedderInfo>;
  /** grpc.health.v1 check of the Embedder service: true when SERVING. */
  isServing(opts?: CallOptions): Promise<boolean>;
  close(): void;
}
