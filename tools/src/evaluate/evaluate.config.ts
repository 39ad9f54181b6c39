import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';
import { loadModelRegistry, type ModelRegistry } from '@image-search/model-registry';

/** tools:evaluate settings from the environment: the services' names, so the stack's `stack.env` serves as is. */
export const evaluateConfigSchema = z.object({
  DATA_DIR: env.str('./data'),
  QDRANT_URL: env.optStr(),
  QDRANT_API_KEY: env.optStr(),
  CATALOGUE_URL: env.optStr(),
  MODEL_REGISTRY_FILE: env.optStr(),
  CLIP_COLLECTION: env.str('image_assets'),
  SIGLIP_COLLECTION: env.str('image_assets_siglip'),
  CLIP_EMBEDDER_URL: env.str('127.0.0.1:50051'),
  SIGLIP_EMBEDDER_URL: env.str('127.0.0.1:50052'),
  CLIP_EMBEDDING_DIM: env.int(512, 0, 65536),
  SIGLIP_EMBEDDING_DIM: env.int(768, 0, 65536),
  EMBEDDER_DEADLINE_MS: env.int(10_000, 100, 600_000),
});

/** Parsed tools:evaluate settings. */
export type EvaluateConfig = z.infer<typeof evaluateConfigSchema>;

/** Parses the settings once and builds the registry (process.env unless a source is given). */
export function loadEvaluateConfig(source?: Record<string, string | undefined>): {
  config: EvaluateConfig;
  registry: ModelRegistry;
} {
  const config = parseConfig(evaluateConfigSchema, source);
  return { config, registry: loadModelRegistry(config) };
}
