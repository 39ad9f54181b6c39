import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '@image-search/service-kit';
import { createTextTokenizer, DEFAULT_IMAGE_LIMITS, encodeBatch, ImagePreprocessor, readModelFolder, type EmbeddingModel, type ImageLimits, type LoadModelOptions, type ModelInfo, type TextTokenizer } from '@image-search/embedding';
import type { WorkerReply, WorkerRequest } from './inference.protocol.js';

type Job = { req: DistributiveOmit<WorkerRequest, 'id'>; transfer: ArrayBuffer[]; priority: number; resolve: (r: { vectors: Float32Array | undefined; dim: number }) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The worker entry: in a build, inference.worker.mjs bundled next to main.mjs (the apps' build
 * target writes it); from sources, a bootstrap that loads the TypeScript worker through tsx.
 */
function workerEntry(): URL {
  const bundled = new URL('./inference.worker.mjs', import.meta.url);
  return existsSync(fileURLToPath(bundled)) ? bundled : new URL('./inference.worker.bootstrap.mjs', import.meta.url);
}

/**
 * An EmbeddingModel whose two ONNX towers run in a worker thread, while tokenizing and image
 * decoding stay on the main thread (sharp decodes on the libuv pool). The main event loop keeps
 * taking calls, decoding the next batch and answering health checks during inference.
 * One job runs at a time (the towers share the CPU/GPU); text jobs go first, so a search query
 * waits for at most one image batch.
 */
export class WorkerEmbeddingModel implements EmbeddingModel {
  private readonly queue: Job[] = [];
  private readonly inFlight = new Map<number, Job>();
  private nextId = 1;
  private busy = false;
  private closed = false;
  private broken: AppError | undefined;

  private constructor(
    readonly info: ModelInfo,
    readonly limits: ImageLimits,
    private readonly tokenizer: TextTokenizer,
    private readonly images: ImagePreprocessor,
    private readonly worker: Worker,
    private readonly onCrash: ((err: Error) => void) | undefined,
  ) {
    worker.on('message', (m: WorkerReply) => this.onReply(m));
    worker.on('error', (err) => this.crashed(new AppError('UNAVAILABLE', `inference worker crashed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.closed) this.crashed(new AppError('UNAVAILABLE', `inference worker exited with code ${code}`));
    });
  }

  /** Loads the model: sessions in a new worker thread, tokenizer and image pipeline here. */
  static async load(opts: WorkerModelOptions): Promise<WorkerEmbeddingModel> {
    const folder = readModelFolder(opts.modelDir, { family: opts.family, variant: opts.variant });
    const tokenizer = createTextTokenizer({ family: folder.family, tokenizerJson: folder.tokenizerJson, tokenizerConfig: folder.tokenizerConfig, contextLength: folder.contextLength, file: folder.tokenizerFile });
    const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...Object.fromEntries(Object.entries(opts.limits ?? {}).filter(([, v]) => v !== undefined && v !== 0)) };
    const images = new ImagePreprocessor(folder.image, limits);
    const { logger, onCrash, ...workerOpts } = opts;
    const worker = new Worker(workerEntry(), { workerData: { ...workerOpts, limits } });
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'log') logger?.warn(m.obj, m.msg);
        else if (m.type === 'ready') {
          worker.off('message', onMessage);
          resolve(m.info);
        } else if (m.type === 'fatal') {
          worker.off('message', onMessage);
          void worker.terminate();
          reject(new AppError((m.code as ErrorCode | undefined) ?? 'INTERNAL', m.message));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    const model = new WorkerEmbeddingModel(info, limits, tokenizer, images, worker, onCrash);
    if (logger) worker.on('message', (m: WorkerReply) => m.type === 'log' && logger.warn(m.obj, m.msg));
    return model;
  }

  tokenize(texts: string[]): BigInt64Array {
    return encodeBatch(this.tokenizer, texts);
  }

  async embedTokens(ids: BigInt64Array, count: number): Promise<Float32Array[]> {
    // Copy so the caller's array stays usable after the buffer is transferred.
    const own = ids.slice();
    return split(await this.submit({ op: 'tokens', ids: own, count }, [own.buffer as ArrayBuffer], 0), count);
  }

  embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.embedTokens(this.tokenize(texts), texts.length);
  }

  preprocessImage(bytes: Uint8Array): Promise<Float32Array> {
    return this.images.preprocess(bytes);
  }

  async embedPixels(pixels: Float32Array[]): Promise<Float32Array[]> {
    const len = this.images.tensorLength;
    const batch = new Float32Array(pixels.length * len);
    pixels.forEach((p, i) => {
      if (p.length !== len) throw new AppError('INVALID_ARGUMENT', `pixel tensor ${i} has ${p.length} values, expected ${len}`);
      batch.set(p, i * len);
    });
    return split(await this.submit({ op: 'pixels', batch, count: pixels.length }, [batch.buffer], 1), pixels.length);
  }

  async warmUp(): Promise<void> {
    await this.submit({ op: 'warmUp' }, [], 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.submit({ op: 'close' }, [], 2).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }

  private submit(req: Job['req'], transfer: ArrayBuffer[], priority: number): Promise<{ vectors: Float32Array | undefined; dim: number }> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new AppError('UNAVAILABLE', 'the model is closed'));
    return new Promise((resolve, reject) => {
      const job: Job = { req, transfer, priority, resolve, reject };
      // Stable insert by priority (lower first): texts before images, FIFO within a priority.
      const at = this.queue.findIndex((j) => j.priority > priority);
      if (at === -1) this.queue.push(job);
      else this.queue.splice(at, 0, job);
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy) return;
    const job = this.queue.shift();
    if (!job) return;
    this.busy = true;
    const id = this.nextId++;
    this.inFlight.set(id, job);
    this.worker.postMessage({ ...job.req, id }, job.transfer);
  }

  private onReply(m: WorkerReply): void {
    if (m.type !== 'done' && m.type !== 'failed') return;
    const job = this.inFlight.get(m.id);
    if (!job) return;
    this.inFlight.delete(m.id);
    this.busy = false;
    if (m.type === 'done') job.resolve({ vectors: m.vectors, dim: m.dim });
    else job.reject(new AppError((m.code as ErrorCode | undefined) ?? 'INTERNAL', m.message));
    this.pump();
  }

  /** Fails everything pending, refuses new work and tells the owner (which should restart the process). */
  private crashed(err: AppError): void {
    if (this.broken) return;
    this.broken = err;
    this.failAll(err);
    this.onCrash?.(err);
  }

  private failAll(err: AppError): void {
    for (const job of [...this.inFlight.values(), ...this.queue]) job.reject(err);
    this.inFlight.clear();
    this.queue.length = 0;
    this.busy = false;
  }
}

function split(r: { vectors: Float32Array | undefined; dim: number }, count: number): Float32Array[] {
  if (!r.vectors || r.vectors.length !== count * r.dim) throw new AppError('INTERNAL', `the inference worker returned ${r.vectors?.length ?? 0} values for ${count} items`);
  return Array.from({ length: count }, (_, i) => r.vectors!.subarray(i * r.dim, (i + 1) * r.dim));
}

/** Options of loadWorkerModel: the embedding lib's, plus where warnings and a worker crash are reported. */
export type WorkerModelOptions = LoadModelOptions & { logger?: { warn(obj: object, msg: string): void }; onCrash?: (err: Error) => void };

/** Loads a model whose inference runs off the main thread (the embedder's default loader). */
export function loadWorkerModel(opts: WorkerModelOptions): Promise<EmbeddingModel> {
  return WorkerEmbeddingModel.load(opts);
}
