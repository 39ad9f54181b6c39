import type { z } from 'zod';
import { env, parseConfig, type EnvSchema } from '@image-search/service-kit';
import { loadModelRegistry, type ModelRegistry, type RegistrySource } from '@image-search/model-registry';

/**
 * The settings every tool that reads the stack's store, catalogue and registry shares, under the services'
 * names, so one .env (or `stack.env`) serves the services and the tools alike.
 */
export const stackSettings = {
  DATA_DIR: env.str('./data'),
  QDRANT_URL: env.optStr(),
  QDRANT_API_KEY: env.optStr(),
  CATALOGUE_URL: env.optStr(),
  MODEL_REGISTRY_FILE: env.optStr(),
  CLIP_COLLECTION: env.str('image_assets'),
  SIGLIP_COLLECTION: env.str('image_assets_siglip'),
  CLIP_EMBEDDER_URL: env.str('127.0.0.1:50051'),
  SIGLIP_EMBEDDER_URL: env.str('127.0.0.1:50052'),
};

/** Parses a tool's settings once and builds the model registry from them (process.env unless a source is given). */
export function loadWithRegistry<S extends EnvSchema>(
  schema: S,
  source?: Record<string, string | undefined>,
): { config: z.infer<S>; registry: ModelRegistry } {
  const config = parseConfig(schema, source);
  return { config, registry: loadModelRegistry(config as RegistrySource) };
}
