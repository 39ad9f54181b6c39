// Integration: the real gateway process (tsx), real HTTP on loopback.
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, httpGet, startTsProcess, waitFor, type TestProcess } from '@image-search/testing';

describe('gateway process', () => {
  let proc: TestProcess | undefined;
  afterAll(async () => {
    await proc?.stop('SIGKILL');
  });

  it('serves /health and stops with exit 0 on SIGTERM', async () => {
    const port = await freePort();
    proc = startTsProcess('apps/gateway/src/main.ts', { GATEWAY_PORT: String(port) });
    await waitFor('gateway health', async () => (await httpGet(`http://127.0.0.1:${port}/health`)).status === 200, 30_000);
    expect((await httpGet(`http://127.0.0.1:${port}/health`)).body).toEqual({ status: 'ok' });
    expect(await proc.stop('SIGTERM')).toBe(0);
  });
});
