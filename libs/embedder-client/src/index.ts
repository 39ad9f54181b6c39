export type * from './embedder-client.types.js';
/** The gRPC implementation of EmbedderApi (deadlines, retries on UNAVAILABLE, chunking, correlation ids). */
export { EmbedderClient, type EmbedderClientOptions } from './embedder.client.js';
/** Backoff, sleep and chunking helpers (exported for tests and the worker's own retries). */
export { backoffDelayMs, chunkItems } from './retry.js';
