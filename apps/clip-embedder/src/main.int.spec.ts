// Integration: the real clip-embedder process (tsx), real gRPC health on loopback.
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, grpcHealthCheck, httpGet, startTsProcess, waitFor, type TestProcess } from '@image-search/testing';

describe('clip-embedder process', () => {
  let proc: TestProcess | undefined;
  afterAll(async () => {
    await proc?.stop('SIGKILL');
  });

  it('answers grpc.health.v1 and stops with exit 0 on SIGTERM', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    proc = startTsProcess('apps/clip-embedder/src/main.ts', { EMBEDDER_PORT: String(port), METRICS_PORT: String(metricsPort) });
    await waitFor('embedder health', async () => (await grpcHealthCheck(`127.0.0.1:${port}`)) === 'SERVING', 60_000, 250);
    expect((await httpGet(`http://127.0.0.1:${metricsPort}/health`)).status).toBe(200);
    expect(await proc.stop('SIGTERM')).toBe(0);
  });
});
