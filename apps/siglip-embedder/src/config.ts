import { parseConfig } from '@image-search/service-kit';
import { embedderConfigSchema, type EmbedderEnv } from '@image-search/embedder-server';

/** siglip-embedder configuration schema: the shared embedder schema with the SIGLIP_* variables and siglip defaults. */
export const siglipEmbedderConfigSchema = embedderConfigSchema('siglip');

/** Parses the embedder's configuration from the environment, once. */
export function loadEmbedderConfig(source?: Record<string, string | undefined>): EmbedderEnv {
  return parseConfig(siglipEmbedderConfigSchema, source);
}
