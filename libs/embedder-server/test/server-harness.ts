// Test harness for this lib's specs: an in-process embedder on loopback with a real model, gates, log capture.
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@image-search/service-kit';
import type { EmbeddingModel } from '@image-search/embedding';
import { loadEmbedderProto } from '@image-search/embedder-proto';
import { embedderConfigSchema, toEmbedderSettings } from '../src/embedder.config.js';
import { EmbedderServer } from '../src/embedder.server.js';
import { loadWorkerModel } from '../src/worker-model.js';

/** A latch: `wait()` blocks until `open()`. Starts open unless told otherwise. */
export class Gate {
  private release: (() => void) | undefined;
  private promise: Promise<void> = Promise.resolve();
  /** How many calls have reached the gate so far. */
  arrived = 0;
  close(): void {
    this.promise = new Promise((r) => (this.release = r));
  }
  open(): void {
    this.release?.();
  }
  wait(): Promise<void> {
    this.arrived++;
    return this.promise;
  }
}

/** Gates in front of the real model's calls, so tests can hold a batch or the warm-up in place. */
export interface ModelGates {
  warmUp?: Gate;
  image?: Gate;
  text?: Gate;
}

/** The real model with its inference calls held behind gates (everything still runs in onnxruntime). */
export function gatedModel(m: EmbeddingModel, g: ModelGates): EmbeddingModel {
  const gated: EmbeddingModel & { towers?: () => unknown } = {
    get info() {
      return m.info;
    },
    get limits() {
      return m.limits;
    },
    tokenize: (t) => m.tokenize(t),
    embedTokens: async (ids, n) => {
      await g.text?.wait();
      return m.embedTokens(ids, n);
    },
    embedTexts: (t) => m.embedTexts(t),
    preprocessImage: (b) => m.preprocessImage(b),
    embedPixels: async (p) => {
      await g.image?.wait();
      return m.embedPixels(p);
    },
    warmUp: async () => {
      await g.warmUp?.wait();
      await m.warmUp();
    },
    close: () => m.close(),
  };
  // The towers' states (idle unload) pass through as the worker model reports them.
  const towers = (m as { towers?: () => unknown }).towers;
  if (towers) gated.towers = () => towers.call(m);
  return gated;
}

/** A logger whose JSON lines are kept for assertions. */
export function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return {
    logger: createLogger('embedder-test', 'debug', stream),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Starts an in-process embedder on loopback with free ports and the given model folder. */
export async function startTestServer(opts: {
  family: 'clip' | 'siglip';
  modelDir: string;
  env?: Record<string, string>;
  gates?: ModelGates;
  logger?: Logger;
  listenOnly?: boolean;
}) {
  const env = {
    EMBEDDER_HOST: '127.0.0.1',
    EMBEDDER_PORT: '0',
    METRICS_PORT: '0',
    MODEL_DIR: opts.modelDir,
    [`${opts.family.toUpperCase()}_EMBEDDING_DIM`]: '0',
    LOG_LEVEL: 'silent',
    ...opts.env,
  };
  const settings = toEmbedderSettings(opts.family, embedderConfigSchema(opts.family as 'clip').parse(env));
  const server = new EmbedderServer({
    settings,
    logger: opts.logger ?? createLogger('embedder-test', 'silent'),
    loadModel: async (o) => gatedModel(await loadWorkerModel(o), opts.gates ?? {}),
  });
  await server.listen();
  if (!opts.listenOnly) {
    try {
      await server.loadModel();
    } catch (err) {
      await server.stop();
      throw err;
    }
  }
  const client = new (loadEmbedderProto().imagesearch.embedder.v1.Embedder)(
    `127.0.0.1:${server.port}`,
    grpc.credentials.createInsecure(),
  );
  return { server, client, address: `127.0.0.1:${server.port}` };
}

/** Promisified unary call on the raw generated client; rejects with the grpc ServiceError. */
export function rpc<R>(
  client: grpc.Client,
  method: 'EmbedTexts' | 'EmbedImages' | 'Info',
  req: object,
  opts: { deadlineMs?: number; metadata?: Record<string, string> } = {},
): Promise<R> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
  const fn = (
    client as unknown as Record<
      string,
      (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res?: R) => void) => void
    >
  )[method]!.bind(client);
  return new Promise((resolve, reject) =>
    fn(req, md, opts.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {}, (e, res) =>
      e ? reject(e) : resolve(res as R),
    ),
  );
}

/** Reads one sample value from a Prometheus text exposition. */
export async function metricValue(
  metricsPort: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}
