import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';
import { loadModelRegistry, type ModelRegistry } from '@image-search/model-registry';

/** tools:verify settings from the environment (the services' names, so one .env serves all). */
export const verifyCatalogueConfigSchema = z.object({
  DATA_DIR: env.str('./data'),
  QDRANT_URL: env.optStr(),
  QDRANT_API_KEY: env.optStr(),
  CATALOGUE_URL: env.optStr(),
  MODEL_REGISTRY_FILE: env.optStr(),
  CLIP_COLLECTION: env.str('image_assets'),
  SIGLIP_COLLECTION: env.str('image_assets_siglip'),
  CLIP_EMBEDDER_URL: env.str('127.0.0.1:50051'),
  SIGLIP_EMBEDDER_URL: env.str('127.0.0.1:50052'),
});

export type VerifyCatalogueConfig = z.infer<typeof verifyCatalogueConfigSchema>;

/** Parses the settings once and builds the registry (process.env unless a source is given). */
export function loadVerifyCatalogueConfig(source?: Record<string, string | undefined>): {
  config: VerifyCatalogueConfig;
  registry: ModelRegistry;
} {
  const config = parseConfig(verifyCatalogueConfigSchema, source);
  return { config, registry: loadModelRegistry(config) };
}
