import { z } from 'zod';
import type { ModelRegistry } from '@image-search/model-registry';
import { loadWithRegistry, stackSettings } from './stack-settings.config.js';

/** tools:verify settings from the environment (the services' names, so one .env serves all). */
export const verifyCatalogueConfigSchema = z.object({
  ...stackSettings,
});

export type VerifyCatalogueConfig = z.infer<typeof verifyCatalogueConfigSchema>;

/** Parses the settings once and builds the registry (process.env unless a source is given). */
export const loadVerifyCatalogueConfig = (
  source?: Record<string, string | undefined>,
): { config: VerifyCatalogueConfig; registry: ModelRegistry } => loadWithRegistry(verifyCatalogueConfigSchema, source);
