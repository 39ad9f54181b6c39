import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';

/** tools:rollout settings: the running gateway and an admin credential (both in the stack's stack.env). */
export const rolloutConfigSchema = z.object({
  GATEWAY_URL: env.str('http://127.0.0.1:8000'),
  ADMIN_TOKEN: env.optStr(),
});

/** Parsed tools:rollout settings. */
export type RolloutConfig = z.infer<typeof rolloutConfigSchema>;

/** Parses the settings once (process.env unless a source is given). */
export function loadRolloutConfig(source?: Record<string, string | undefined>): RolloutConfig {
  return parseConfig(rolloutConfigSchema, source);
}
