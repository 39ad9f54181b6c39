import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';

/** siglip-embedder configuration schema. */
export const embedderConfigSchema = z.object({
  EMBEDDER_HOST: env.str('127.0.0.1'),
  EMBEDDER_PORT: env.port(50052),
  METRICS_PORT: env.port(9465),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.int(20_000, 100, 600_000),
});

export type EmbedderConfig = z.infer<typeof embedderConfigSchema>;

/** Parses the embedder's configuration from the environment, once. */
export function loadEmbedderConfig(source?: Record<string, string | undefined>): EmbedderConfig {
  return parseConfig(embedderConfigSchema, source);
}
