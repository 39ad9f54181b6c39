import { UnrecoverableError } from 'bullmq';
import type { Logger } from '@image-search/service-kit';
import type { EmbedderApi } from '@image-search/embedder-client';

/** What a batch needs to know about the embedder: its limits and its model's fingerprint. */
export interface EmbedderLimits {
  maxBatchSize: number;
  maxImageBytes: number;
  /** Undefined for an embedder older than fingerprints. */
  fingerprint: string | undefined;
}

/**
 * The embedder's batch and size limits from its Info RPC, fetched once and cached; a failed
 * fetch is retried on the next call. A model whose dimension differs from the collection
 * schema fails every batch as unrecoverable, naming both numbers.
 */
export function cachedLimits(
  embedder: EmbedderApi,
  expectedDim: number,
  logger: Logger,
): () => Promise<EmbedderLimits> {
  let cached: Promise<EmbedderLimits> | undefined;
  return () => {
    cached ??= embedder.info({ deadlineMs: 10_000 }).then(
      (info) => {
        if (info.embeddingDim !== expectedDim) {
          throw new UnrecoverableError(
            `the target model's embedder serves ${info.embeddingDim}-dimensional vectors (${info.modelId}) but its registry entry expects ${expectedDim} (SIGLIP_EMBEDDING_DIM, or dim in MODEL_REGISTRY_FILE)`,
          );
        }
        logger.info(
          {
            model: info.modelId,
            max_batch: info.maxBatchSize,
            max_request_items: info.maxRequestItems,
            dim: info.embeddingDim,
            fingerprint: info.fingerprint,
          },
          'target embedder limits',
        );
        return {
          maxBatchSize: Math.max(1, Math.min(info.maxBatchSize || 32, info.maxRequestItems || Infinity)),
          maxImageBytes: info.maxImageBytes,
          fingerprint: info.fingerprint,
        };
      },
      (err: unknown) => {
        cached = undefined;
        throw err;
      },
    );
    return cached;
  };
}
