import { Redis } from 'ioredis';
import type { Logger } from '@image-search/service-kit';
import { describePersistence, NO_PERSISTENCE_ADVICE, redisPersistence } from '@image-search/jobs';

/** The gateway's Redis connections: `redis` for API reads (fails fast), `bull` for BullMQ (which needs maxRetriesPerRequest: null). */
export interface GatewayRedis {
  redis: Redis;
  bull: Redis;
  close: () => void;
}

/** Opens both connections and says once, at start, whether this Redis keeps its data across a restart. */
export function wireRedis(url: string, logger: Logger): GatewayRedis {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 3000, lazyConnect: false });
  const bull = new Redis(url, { maxRetriesPerRequest: null, connectTimeout: 3000 });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  bull.on('error', () => undefined);
  // Runs, ingest progress and API keys live in this Redis: say so loudly when a restart would lose them.
  void redisPersistence(redis).then((p) => {
    if (p.unknownReason !== undefined)
      logger.info({ reason: p.unknownReason }, 'could not check whether Redis persists its data (CONFIG GET refused)');
    else if (!p.aof && !p.rdb)
      logger.warn(
        { redis_persistence: describePersistence(p) },
        `Redis has neither AOF nor RDB persistence enabled: a Redis restart loses every re-embedding run, ingest progress and API key; ${NO_PERSISTENCE_ADVICE}`,
      );
    else logger.info({ redis_persistence: describePersistence(p) }, 'Redis persistence');
  });
  return {
    redis,
    bull,
    close: () => {
      redis.disconnect();
      bull.disconnect();
    },
  };
}
