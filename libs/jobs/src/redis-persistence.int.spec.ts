// Integration: redisPersistence against REAL redis-server processes started with each persistence
// setting, including one whose CONFIG command is disabled (as managed Redis services do).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisServerAvailable, startRedisServer } from '@image-search/testing';
import { describePersistence, redisPersistence } from './redis-persistence.js';

describe.skipIf(!redisServerAvailable('redisPersistence'))('redisPersistence (real redis-server processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redis-persist-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const check = async (args: string[]) => {
    const server = await startRedisServer(args, dir);
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      const p = await redisPersistence(redis);
      return { p, text: describePersistence(p) };
    } finally {
      redis.disconnect();
      await server.stop();
    }
  };

  it('tells AOF, RDB, both and none apart', async () => {
    expect(await check(['--appendonly', 'yes', '--save', ''])).toEqual({
      p: { aof: true, rdb: false, unknownReason: undefined },
      text: 'AOF',
    });
    expect((await check(['--appendonly', 'no', '--save', '3600 1'])).text).toBe('RDB snapshots');
    expect((await check(['--appendonly', 'yes', '--save', '3600 1'])).text).toBe('AOF and RDB');
    expect(await check(['--appendonly', 'no', '--save', ''])).toEqual({
      p: { aof: false, rdb: false, unknownReason: undefined },
      text: 'none',
    });
  });

  it('answers unknown, without throwing, when the Redis forbids CONFIG', async () => {
    const r = await check(['--appendonly', 'no', '--save', '', '--rename-command', 'CONFIG', '']);
    expect(r.p).toMatchObject({ aof: undefined, rdb: undefined });
    expect(r.text).toMatch(/^unknown \(ERR unknown command 'config'/);
  });
});
