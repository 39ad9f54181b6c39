import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '@image-search/service-kit';
import type { ModelInfo } from '@image-search/embedding';
import type { InferenceWorkerData, WorkerReply, WorkerRequest } from './inference.protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request without its id (the lane numbers them). */
export type LaneRequest = DistributiveOmit<WorkerRequest, 'id'>;
/** What a finished job returns: `count` rows of `dim` values end to end. */
export interface LaneResult {
  vectors: Float32Array | undefined;
  dim: number;
}
type Job = { req: LaneRequest; transfer: ArrayBuffer[]; resolve: (r: LaneResult) => void; reject: (e: Error) => void };

/**
 * The worker entry: in a build, inference.worker.mjs bundled next to main.mjs (the apps' build
 * target writes it); from sources, a bootstrap that loads the TypeScript worker through tsx.
 */
function workerEntry(): URL {
  const bundled = new URL('./inference.worker.mjs', import.meta.url);
  return existsSync(fileURLToPath(bundled)) ? bundled : new URL('./inference.worker.bootstrap.mjs', import.meta.url);
}

/**
 * One inference worker thread holding one or both ONNX towers, with a FIFO of jobs that it runs
 * one at a time (onnxruntime-node's `run()` blocks the thread that calls it). A crash or an exit
 * fails everything pending and every later job, and is reported once through `onCrash`.
 */
export class InferenceLane {
  private readonly queue: Job[] = [];
  private readonly inFlight = new Map<number, Job>();
  private nextId = 1;
  private busy = false;
  private closed = false;
  private broken: AppError | undefined;

  private constructor(
    readonly name: string,
    readonly info: ModelInfo,
    private readonly worker: Worker,
    private readonly onCrash: (err: AppError) => void,
  ) {
    worker.on('message', (m: WorkerReply) => this.onReply(m));
    worker.on('error', (err) =>
      this.crashed(new AppError('UNAVAILABLE', `inference worker (${name}) crashed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', (code) => {
      if (!this.closed)
        this.crashed(new AppError('UNAVAILABLE', `inference worker (${name}) exited with code ${code}`));
    });
  }

  /** Starts a worker thread that loads the model with `opts` and resolves once it is ready. */
  static async start(
    name: string,
    opts: InferenceWorkerData,
    hooks: { onLog?: (obj: object, msg: string) => void; onCrash: (err: AppError) => void },
  ): Promise<InferenceLane> {
    const worker = new Worker(workerEntry(), { workerData: opts });
    // Listen for logs from the start: the loader warns during loading (DEVICE=auto falling back to CPU).
    const onLog = hooks.onLog;
    if (onLog) worker.on('message', (m: WorkerReply) => m.type === 'log' && onLog(m.obj, m.msg));
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'ready') {
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
      // A thread that dies while loading (out of memory, say) sends no 'fatal'; the load must not hang.
      worker.once('exit', (code) =>
        reject(new AppError('UNAVAILABLE', `inference worker (${name}) exited with code ${code} while loading`)),
      );
    });
    return new InferenceLane(name, info, worker, hooks.onCrash);
  }

  /** The worker's thread id (one lane per thread). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** Queues a job; typed arrays in `transfer` move to the worker without a copy. */
  submit(req: LaneRequest, transfer: ArrayBuffer[] = []): Promise<LaneResult> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new AppError('UNAVAILABLE', 'the model is closed'));
    return this.enqueue(req, transfer);
  }

  /** Lets queued jobs finish, then releases the sessions and ends the thread; new jobs are refused from now on. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.broken) await this.enqueue({ op: 'close' }, []).catch(() => undefined);
    await this.worker.terminate();
  }

  /** Ends the thread at once, as a crash would (tests). */
  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private enqueue(req: LaneRequest, transfer: ArrayBuffer[]): Promise<LaneResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, transfer, resolve, reject });
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

  private crashed(err: AppError): void {
    if (this.broken) return;
    this.broken = err;
    for (const job of [...this.inFlight.values(), ...this.queue]) job.reject(err);
    this.inFlight.clear();
    this.queue.length = 0;
    this.busy = false;
    this.onCrash(err);
  }
}
