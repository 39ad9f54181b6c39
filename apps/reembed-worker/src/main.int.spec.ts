// Integration: the real reembed-worker process (tsx) against the real Redis at REDIS_URL.
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, httpGet, startTsProcess, testEnv, waitFor, type TestProcess } from '@image-search/testing';

describe('reembed-worker process', () => {
  let proc: TestProcess | undefined;
  afterAll(async () => {
    await proc?.stop('SIGKILL');
  });

  it('is ready once Redis answers and stops with exit 0 on SIGTERM', async () => {
    const port = await freePort();
    proc = startTsProcess('apps/reembed-worker/src/main.ts', { WORKER_HEALTH_PORT: String(port), REDIS_URL: testEnv.redisUrl });
    await waitFor('worker ready', async () => (await httpGet(`http://127.0.0.1:${port}/ready`)).status === 200, 30_000);
    expect(await proc.stop('SIGTERM')).toBe(0);
  });
});
