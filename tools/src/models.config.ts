import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';
import { loadModelRegistry, type ModelRegistry } from '@image-search/model-registry';

/** tools:models settings from the environment (the services' names, so one .env serves all). */
export const modelsConfigSchema = z.object({
  REDIS_URL: env.str('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: env.str('isearch'),
  DATA_DIR: env.str('./data'),
  QDRANT_URL: env.optStr(),
  QDRANT_API_KEY: env.optStr(),
  CATALOGUE_URL: env.optStr(),
  MODEL_REGISTRY_FILE: env.optStr(),
  CLIP_COLLECTION: env.str('image_assets'),
  SIGLIP_COLLECTION: env.str('image_assets_siglip'),
  CLIP_EMBEDDER_URL: env.str('127.0.0.1:50051'),
  SIGLIP_EMBEDDER_URL: env.str('127.0.0.1:50052'),
  /** Days a retired model's collection is kept for a rollback before `tools:models drop` may remove it. */
  MODEL_RETIRE_GRACE_DAYS: env.num(7, 0, 3650),
});

export type ModelsConfig = z.infer<typeof modelsConfigSchema>;

/** Parses the settings once and builds the registry (process.env unless a source is given). */
export function loadModelsConfig(source?: Record<string, string | undefined>): {
  config: ModelsConfig;
  registry: ModelRegistry;
} {
  const config = parseConfig(modelsConfigSchema, source);
  return { config, registry: loadModelRegistry(config) };
}
