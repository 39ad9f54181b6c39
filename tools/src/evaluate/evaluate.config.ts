import { z } from 'zod';
import { env } from '@image-search/service-kit';
import type { ModelRegistry } from '@image-search/model-registry';
import { loadWithRegistry, stackSettings } from '../stack-settings.config.js';

/** tools:evaluate settings from the environment: the services' names, so the stack's `stack.env` serves as is. */
export const evaluateConfigSchema = z.object({
  ...stackSettings,
  CLIP_EMBEDDING_DIM: env.int(512, 0, 65536),
  SIGLIP_EMBEDDING_DIM: env.int(768, 0, 65536),
  EMBEDDER_DEADLINE_MS: env.int(10_000, 100, 600_000),
});

/** Parsed tools:evaluate settings. */
export type EvaluateConfig = z.infer<typeof evaluateConfigSchema>;

/** Parses the settings once and builds the registry (process.env unless a source is given). */
export const loadEvaluateConfig = (
  source?: Record<string, string | undefined>,
): { config: EvaluateConfig; registry: ModelRegistry } => loadWithRegistry(evaluateConfigSchema, source);
