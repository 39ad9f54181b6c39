import { parseConfig } from '@image-search/service-kit';
import { embedderConfigSchema, type EmbedderEnv } from '@image-search/embedder-server';

/** clip-embedder configuration schema: the shared embedder schema with the CLIP_* variables and clip defaults. */
export const clipEmbedderConfigSchema = embedderConfigSchema('clip');

/** Parses the embedder's configuration from the environment, once. */
export function loadEmbedderConfig(source?: Record<string, string | undefined>): EmbedderEnv {
  return parseConfig(clipEmbedderConfigSchema, source);
}
