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
});
