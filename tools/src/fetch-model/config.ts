import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';

/** tools:fetch-model settings from the environment (the Hugging Face client's own names). */
export const fetchModelConfigSchema = z.object({
  HF_ENDPOINT: env.str('https://huggingface.co'),
  HF_TOKEN: env.optStr(),
  MODELS_DIR: env.str('./models'),
  /** Attempts per file on dropped connections and 5xx answers (each resumes where it stopped). */
  FETCH_RETRIES: env.int(5, 0, 100),
});

export type FetchModelConfig = z.infer<typeof fetchModelConfigSchema>;

/** Parses the fetch-model settings once. */
export function loadFetchModelConfig(source?: Record<string, string | undefined>): FetchModelConfig {
  return parseConfig(fetchModelConfigSchema, source);
}
