import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { testEnv } from './env.js';

/** A unique key prefix / queue name for one test, so parallel tests never share keys. */
export function uniqueName(label: string): string {
  return `test:${label}:${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A Redis connection to the test Redis; fails fast instead of retrying forever. */
export function testRedis(): Redis {
  return new Redis(testEnv.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: false });
}

/** Deletes every key under `prefix` (SCAN, never KEYS) and returns how many went. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
