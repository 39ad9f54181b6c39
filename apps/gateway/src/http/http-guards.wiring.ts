import { Redis } from 'ioredis';
import proxyAddr from 'proxy-addr';
import { ApiKeyStore } from '@image-search/api-keys';
import type { Logger } from '@image-search/service-kit';
import type { GatewayDeps } from '../app.types.js';
import { authConfigured, type GatewayConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import type { AuthSettings } from './auth.middleware.js';
import { rateLimit } from './rate-limit.js';
import { SessionStore } from './session.js';

/** Who may call what: API keys and sessions in Redis, the admin token, the trusted identity proxy. */
export function wireAuth(config: GatewayConfig, redis: Redis): AuthSettings {
  const trustedProxy = config.AUTH_PROXY_HEADER ? proxyAddr.compile(config.AUTH_TRUSTED_PROXIES) : undefined;
  const apiKeys = config.AUTH_API_KEYS ? new ApiKeyStore(redis, config.QUEUE_PREFIX) : undefined;
  return {
    apiKeys,
    sessions: apiKeys
      ? new SessionStore(redis, config.QUEUE_PREFIX, config.AUTH_SESSION_TTL_S, (id) => apiKeys.isActive(id))
      : undefined,
    adminToken: config.ADMIN_TOKEN,
    proxy:
      config.AUTH_PROXY_HEADER && trustedProxy
        ? {
            header: config.AUTH_PROXY_HEADER,
            trusted: (addr: string) => trustedProxy(addr, 0),
            admins: new Set(config.AUTH_PROXY_ADMINS),
          }
        : undefined,
    anonymous: config.ALLOW_ANONYMOUS || !authConfigured(config),
  };
}

/** The rate limits, counted in Redis so every replica shares them, and the connection to close on shutdown. */
export async function wireRateLimits(
  config: GatewayConfig,
  logger: Logger,
  metrics: GatewayMetrics,
): Promise<{ limits: GatewayDeps['limits']; close: () => void }> {
  // Rate-limit counters get their own connection: no offline queue and a short timeout, so a Redis
  // outage lets requests through at once (fail open) instead of holding each one for the retries.
  const limiterRedis =
    config.RATE_LIMIT_SEARCH_PER_MIN > 0 || config.RATE_LIMIT_UPLOAD_PER_MIN > 0
      ? new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000 })
      : undefined;
  limiterRedis?.on('error', () => undefined);
  // Without an offline queue, a command sent before the connection is up fails (and the request
  // passes unlimited), so the first requests after start would escape the limit: wait briefly for
  // the connection; a Redis that is down at start still fails open, as later outages do.
  if (limiterRedis && limiterRedis.status !== 'ready')
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 3000);
      limiterRedis.once('ready', done);
      function done() {
        clearTimeout(timer);
        limiterRedis?.off('ready', done);
        resolve();
      }
    });
  const limit = (name: string, perMinute: number) =>
    rateLimit({
      name,
      perMinute,
      logger,
      ...(limiterRedis ? { store: { redis: limiterRedis, prefix: config.QUEUE_PREFIX } } : {}),
      onLimited: (n) => metrics.rateLimited.inc({ limit: n }),
      onStoreError: (n) => metrics.rateLimitStoreErrors.inc({ limit: n }),
    });
  return {
    limits: {
      events: limit('events', config.RATE_LIMIT_EVENTS_PER_MIN),
      search: limit('search', config.RATE_LIMIT_SEARCH_PER_MIN),
      upload: limit('upload', config.RATE_LIMIT_UPLOAD_PER_MIN),
      ingest: limit('ingest', config.RATE_LIMIT_UPLOAD_PER_MIN),
    },
    close: () => limiterRedis?.disconnect(),
  };
}
