import { z } from 'zod';
import { env } from '@image-search/service-kit';
import type { ModelRegistry } from '@image-search/model-registry';
import { loadWithRegistry, stackSettings } from './stack-settings.config.js';

/** tools:models settings from the environment (the services' names, so one .env serves all). */
export const modelsConfigSchema = z.object({
  ...stackSettings,
  REDIS_URL: env.str('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: env.str('isearch'),
  /** Days a retired model's collection is kept for a rollback before `tools:models drop` may remove it. */
  MODEL_RETIRE_GRACE_DAYS: env.num(7, 0, 3650),
});

export type ModelsConfig = z.infer<typeof modelsConfigSchema>;

/** Parses the settings once and builds the registry (process.env unless a source is given). */
export const loadModelsConfig = (
  source?: Record<string, string | undefined>,
): { config: ModelsConfig; registry: ModelRegistry } => loadWithRegistry(modelsConfigSchema, source);
