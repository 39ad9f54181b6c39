import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';
import { loadModelRegistry, type ModelRegistry } from '@image-search/model-registry';

/** reembed-worker configuration schema (README / docs table lists every variable). */
export const workerConfigSchema = z.object({
  REDIS_URL: env.str('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: env.str('isearch'),
  WORKER_HEALTH_HOST: env.str('127.0.0.1'),
  WORKER_HEALTH_PORT: env.port(9470),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.int(60_000, 100, 600_000),
  // Vector store: Qdrant when QDRANT_URL is set, else the embedded engine under DATA_DIR.
  DATA_DIR: env.str('./data'),
  QDRANT_URL: env.optStr(),
  QDRANT_API_KEY: env.optStr(),
  /** PostgreSQL URL of the asset catalogue (which assets exist); unset: the embedded one under DATA_DIR. */
  CATALOGUE_URL: env.optStr(),
  CLIP_COLLECTION: env.str('image_assets'),
  SIGLIP_COLLECTION: env.str('image_assets_siglip'),
  SIGLIP_EMBEDDING_DIM: env.int(768, 1, 65_536),
  /** Registry file (YAML/JSON) declaring models beyond the seed's pair; see libs/model-registry. */
  MODEL_REGISTRY_FILE: env.optStr(),
  ASSET_ROOTS: env.list([]),
  SIGLIP_EMBEDDER_URL: env.str('127.0.0.1:50052'),
  EMBEDDER_DEADLINE_MS: env.int(60_000, 100, 600_000),
  /** Batches processed at once by this replica. */
  REEMBED_CONCURRENCY: env.int(2, 1, 64),
  /** Images per second this replica sends at most (0 = no limit). */
  REEMBED_RATE_PER_S: env.num(0, 0, 1_000_000),
  /** Embed requests in flight at most; halves on RESOURCE_EXHAUSTED, grows back on success. */
  REEMBED_MAX_INFLIGHT: env.int(4, 1, 256),
  /** Files read from disk at once per batch. */
  REEMBED_READ_CONCURRENCY: env.int(8, 1, 256),
  /** Attempts of a batch on transient errors (then it is marked failed and the run goes on). */
  REEMBED_ATTEMPTS: env.int(8, 1, 100),
  REEMBED_BACKOFF_MS: env.int(1000, 10, 600_000),
  REEMBED_BACKOFF_MAX_MS: env.int(30_000, 10, 3_600_000),
  /** Lock of an active batch; a worker that dies loses it and the batch is picked up after the stalled check. */
  REEMBED_LOCK_MS: env.int(30_000, 1000, 3_600_000),
  REEMBED_STALLED_INTERVAL_MS: env.int(30_000, 500, 3_600_000),
  /** Vectors the verify step checks for dimension and unit norm (0 = all). */
  REEMBED_VERIFY_SAMPLE: env.int(1000, 0, 100_000_000),
  /** Largest file read (bytes); bigger files fail with INPUT_TOO_LARGE without being read. */
  MAX_IMAGE_BYTES: env.int(20 * 1024 * 1024, 1, 2 ** 31 - 1),
  /** The gateway's previews (default DATA_DIR/previews): unchanged files are embedded from them. */
  PREVIEW_DIR: env.optStr(),
});

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Parses the worker's configuration from the environment, once (a bad registry file is a start-up error). */
export function loadWorkerConfig(source?: Record<string, string | undefined>): WorkerConfig {
  const config = parseConfig(workerConfigSchema, source);
  workerRegistry(config);
  return config;
}

/** The model registry from the seed variables and MODEL_REGISTRY_FILE. */
export function workerRegistry(config: WorkerConfig): ModelRegistry {
  // The config's variables carry the registry's seed names, so the parsed config is its source as it is.
  return loadModelRegistry(config);
}
