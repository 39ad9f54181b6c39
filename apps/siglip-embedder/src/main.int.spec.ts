// Integration: the real siglip-embedder process (tsx), a real ONNX model (the project's tiny SigLIP) in onnxruntime,
// real gRPC health and metrics on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  tinyModelDir,
  grpcHealthCheck,
  httpGet,
  startTsProcess,
  waitFor,
  type TestProcess,
} from '@image-search/testing';

describe('siglip-embedder process', () => {
  const procs: TestProcess[] = [];
  let MODEL_DIR = '';
  beforeAll(async () => {
    MODEL_DIR = await tinyModelDir('siglip');
  });
  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
  });

  it('loads its model, answers grpc.health.v1 SERVING and /metrics, and stops with exit 0 on SIGTERM', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const proc = startTsProcess('apps/siglip-embedder/src/main.ts', {
      EMBEDDER_HOST: '127.0.0.1',
      EMBEDDER_PORT: String(port),
      METRICS_PORT: String(metricsPort),
      MODEL_DIR,
      SIGLIP_EMBEDDING_DIM: '0',
    });
    procs.push(proc);
    await waitFor(
      'embedder SERVING',
      async () => (await grpcHealthCheck(`127.0.0.1:${port}`, 'imagesearch.embedder.v1.Embedder')) === 'SERVING',
      60_000,
      200,
    );
    expect((await httpGet(`http://127.0.0.1:${metricsPort}/ready`)).status).toBe(200);
    const metrics = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(String(metrics.body)).toContain('embedder_queue_depth{tower="image",family="siglip"}');
    expect(await proc.stop('SIGTERM')).toBe(0);
    expect(proc.output()).toContain('shutdown complete');
  });

  it('fails at start with exit 1 and a message naming both dimensions when SIGLIP_EMBEDDING_DIM does not match the model', async () => {
    const proc = startTsProcess('apps/siglip-embedder/src/main.ts', {
      EMBEDDER_HOST: '127.0.0.1',
      EMBEDDER_PORT: '0',
      METRICS_PORT: '0',
      MODEL_DIR,
      SIGLIP_EMBEDDING_DIM: '4096',
    });
    procs.push(proc);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(
      /SIGLIP_EMBEDDING_DIM is 4096, but the model at .* produces \d+-dimensional embeddings/,
    );
  });
});
