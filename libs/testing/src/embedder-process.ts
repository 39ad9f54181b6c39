import { tinyModelDir } from './models.js';
import { freePort, waitFor } from './ports.js';
import { startTsProcess, type TestProcess } from './process.js';
import { grpcHealthCheck } from './serve.js';

/** A real embedder app process on loopback, SERVING its model. */
export interface RunningEmbedder {
  proc: TestProcess;
  /** gRPC address, host:port. */
  addr: string;
  metricsPort: number;
}

/**
 * Starts the real clip-/siglip-embedder app with a tiny generated model (the 'colour' kind by
 * default, so "red" finds red images) on free loopback ports and waits until its
 * grpc.health.v1 says SERVING. `env` overrides or adds variables; `weightNoise` serves a deliberately
 * degraded model of the same architecture.
 */
export async function startEmbedderProcess(
  family: 'clip' | 'siglip',
  opts: { kind?: 'colour' | 'random'; env?: Record<string, string>; weightNoise?: number } = {},
): Promise<RunningEmbedder> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc = startTsProcess(`apps/${family}-embedder/src/main.ts`, {
    EMBEDDER_HOST: '127.0.0.1',
    EMBEDDER_PORT: String(port),
    METRICS_PORT: String(metricsPort),
    MODEL_DIR: await tinyModelDir(family, opts.kind ?? 'colour', 'hf', opts.weightNoise ?? 0),
    // Tiny models are not 512/768-d: skip the production dimension check.
    [family === 'clip' ? 'CLIP_EMBEDDING_DIM' : 'SIGLIP_EMBEDDING_DIM']: '0',
    ...opts.env,
  });
  const addr = `127.0.0.1:${port}`;
  try {
    await waitFor(
      `${family} embedder SERVING`,
      async () => (await grpcHealthCheck(addr, 'imagesearch.embedder.v1.Embedder')) === 'SERVING',
      90_000,
      200,
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    throw new Error(`${String(err)}\n--- ${family}-embedder output ---\n${proc.output()}`);
  }
  return { proc, addr, metricsPort };
}
