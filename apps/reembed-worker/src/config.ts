import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';

/** reembed-worker configuration schema. */
export const workerConfigSchema = z.object({
  REDIS_URL: env.str('redis://127.0.0.1:6379'),
  WORKER_HEALTH_HOST: env.str('127.0.0.1'),
  WORKER_HEALTH_PORT: env.port(9470),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.int(60_000, 100, 600_000),
});

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Parses the worker's configuration from the environment, once. */
export function loadWorkerConfig(source?: Record<string, string | undefined>): WorkerConfig {
  return parseConfig(workerConfigSchema, source);
}
