import type { ItemErrorReason } from '@image-search/image-formats/item-errors';

/** Per-item outcome of an embed call: a vector, or the machine-readable reason it failed. */
export type EmbedItemResult =
  | { ok: true; vector: Float32Array }
  | {
      ok: false;
      reason: ItemErrorReason | 'UNSPECIFIED';
      message: string;
    };

/** A tower's state: `unloaded` after MODEL_IDLE_UNLOAD_S idle (the next call that needs it loads it again). */
export type TowerState = 'loaded' | 'unloaded' | 'loading' | 'unknown';

/** One model tower as Info reports it (`unknown`: a state this client does not know, from a newer server). */
export interface TowerInfo {
  tower: 'image' | 'text';
  state: TowerState;
  /** When it last ran a job (ms since the epoch); undefined when not since the server started. */
  lastUsedAt?: number;
}

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
  /** Each tower's state now (older servers: absent). An unloaded tower still serves: health stays SERVING. */
  towers?: TowerInfo[];
  /** MODEL_IDLE_UNLOAD_S: seconds idle before a tower is unloaded; 0 = never (older servers: absent). */
  idleUnloadS?: number;
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
