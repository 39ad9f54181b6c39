// Integration: real Redis at REDIS_URL.
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, testRedis, uniqueName } from './index.js';

describe('test redis helpers (real Redis)', () => {
  const redis = testRedis();
  const prefix = uniqueName('testing');
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('writes under a unique prefix and cleans up only that prefix', async () => {
    await redis.set(`${prefix}:a`, '1');
    await redis.set(`${prefix}:b`, '2');
    expect(await deleteKeys(redis, prefix)).toBe(2);
    expect(await redis.exists(`${prefix}:a`)).toBe(0);
  });
});
