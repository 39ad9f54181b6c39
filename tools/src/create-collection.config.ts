import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';

/** tools:create-collection settings from the environment (the services' names, so one .env serves all). */
export const createCollectionConfigSchema = z.object({
  LOG_LEVEL: env.str('warn'),
  DATA_DIR: env.str('./data'),
  QDRANT_URL: env.optStr(),
  QDRANT_API_KEY: env.optStr(),
  CLIP_COLLECTION: env.str('image_assets'),
  SIGLIP_COLLECTION: env.str('image_assets_siglip'),
  CLIP_EMBEDDING_DIM: env.int(512, 1, 65536),
  SIGLIP_EMBEDDING_DIM: env.int(768, 1, 65536),
});

export type CreateCollectionConfig = z.infer<typeof createCollectionConfigSchema>;

/** Parses the create-collection settings once (process.env unless a source is given). */
export function loadCreateCollectionConfig(source?: Record<string, string | undefined>): CreateCollectionConfig {
  return parseConfig(createCollectionConfigSchema, source);
}
