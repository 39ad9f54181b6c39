// Integration: the real gateway process (tsx), real HTTP on loopback, real Redis, real embedded store
// in a temp dir (no embedders running: /ready says so).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deleteKeys,
  freePort,
  httpGet,
  redisServerAvailable,
  startRedisServer,
  startTsProcess,
  testRedis,
  uniqueName,
  waitFor,
  type TestProcess,
} from '@image-search/testing';

const dir = mkdtempSync(join(tmpdir(), 'gw-main-'));
const prefix = uniqueName('gw-main');

describe('gateway process', () => {
  let proc: TestProcess | undefined;
  afterAll(async () => {
    await proc?.stop('SIGKILL');
    const redis = testRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /health, reports not ready without embedders, and stops with exit 0 on SIGTERM', async () => {
    const port = await freePort();
    const dead = await freePort();
    proc = startTsProcess('apps/gateway/src/main.ts', {
      GATEWAY_PORT: String(port),
      DATA_DIR: dir,
      QUEUE_PREFIX: prefix,
      CLIP_EMBEDDER_URL: `127.0.0.1:${dead}`,
      SIGLIP_EMBEDDER_URL: `127.0.0.1:${dead}`,
    });
    await waitFor(
      'gateway health',
      async () => (await httpGet(`http://127.0.0.1:${port}/health`)).status === 200,
      30_000,
    );
    expect((await httpGet(`http://127.0.0.1:${port}/health`)).body).toEqual({ status: 'ok' });
    const ready = await httpGet(`http://127.0.0.1:${port}/ready`);
    expect(ready).toMatchObject({
      status: 503,
      body: { status: 'not_ready', checks: { clip_embedder: false, vector_store: true } },
    });
    expect(await proc.stop('SIGTERM')).toBe(0);
  });

  it('refuses to start on a bad rollout percentage and names the variable', async () => {
    const p = startTsProcess('apps/gateway/src/main.ts', { SIGLIP_ROLLOUT_PERCENTAGE: '150', DATA_DIR: dir });
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('SIGLIP_ROLLOUT_PERCENTAGE: expected a number between 0 and 100');
  });

  it.skipIf(!redisServerAvailable('the Redis persistence warning'))(
    'warns at start when its Redis has neither AOF nor RDB, and says so plainly when CONFIG is forbidden (real redis-server processes)',
    async () => {
      const start = async (args: string[], expected: RegExp) => {
        const redis = await startRedisServer(args, dir);
        const port = await freePort();
        const p = startTsProcess('apps/gateway/src/main.ts', {
          GATEWAY_PORT: String(port),
          DATA_DIR: dir,
          QUEUE_PREFIX: prefix,
          REDIS_URL: redis.url,
          CLIP_EMBEDDER_URL: `127.0.0.1:${await freePort()}`,
          SIGLIP_EMBEDDER_URL: '',
        });
        try {
          await waitFor('persistence line', () => expected.test(p.output()), 30_000, 100);
          return p.output();
        } finally {
          await p.stop('SIGTERM');
          await redis.stop();
        }
      };
      const none = await start(['--save', '', '--appendonly', 'no'], /persistence/i);
      expect(none).toMatch(
        /"level":40.*Redis has neither AOF nor RDB persistence enabled: a Redis restart loses every re-embedding run, ingest progress and API key; enable persistence \(appendonly yes/,
      );
      const aof = await start(['--save', '', '--appendonly', 'yes'], /Redis persistence/);
      expect(aof).toMatch(/"redis_persistence":"AOF"/);
      expect(aof).not.toMatch(/neither AOF nor RDB/);
      const hidden = await start(
        ['--save', '', '--appendonly', 'no', '--rename-command', 'CONFIG', ''],
        /could not check whether Redis persists/,
      );
      expect(hidden).toMatch(/"level":30.*unknown command 'config'/);
    },
    90_000,
  );
});
