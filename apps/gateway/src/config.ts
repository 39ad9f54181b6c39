import { z } from 'zod';
import { env, parseConfig } from '@image-search/service-kit';

/** Gateway configuration schema (every variable is documented in the README). */
export const gatewayConfigSchema = z.object({
  GATEWAY_HOST: env.str('127.0.0.1'),
  GATEWAY_PORT: env.port(8000),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, 100, 600_000),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/** Parses the gateway's configuration from the environment, once. */
export function loadGatewayConfig(source?: Record<string, string | undefined>): GatewayConfig {
  return parseConfig(gatewayConfigSchema, source);
}
