// The inference worker thread: owns the onnxruntime sessions. onnxruntime-node runs inference
// synchronously on the calling thread, so on the main thread it would freeze the event loop
// (no gRPC traffic, no image decoding, no health checks) for the length of every batch.
import { parentPort, workerData } from 'node:worker_threads';
import { isAppError } from '@image-search/service-kit';
import { loadEmbeddingModel } from '@image-search/embedding';
import {
  DEFAULT_CPU_RUN_ROWS,
  type InferenceWorkerData,
  type WorkerReply,
  type WorkerRequest,
} from './inference.protocol.js';

const port = parentPort;
if (!port) throw new Error('inference.worker must run in a worker thread');
const post = (msg: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

/** Runs `count` rows of `per` values through `run` in slices of at most `rows`. */
async function sliced<A extends Float32Array | BigInt64Array>(
  all: A,
  count: number,
  rows: number,
  run: (part: A, n: number) => Promise<Float32Array[]>,
): Promise<Float32Array[]> {
  if (count <= rows) return run(all, count);
  const per = all.length / count;
  const out: Float32Array[] = [];
  for (let k = 0; k < count; k += rows) {
    const n = Math.min(rows, count - k);
    out.push(...(await run(all.subarray(k * per, (k + n) * per) as A, n)));
  }
  return out;
}

function pack(rows: Float32Array[]): { vectors: Float32Array | undefined; dim: number } {
  const dim = rows[0]?.length ?? 0;
  if (rows.length === 0) return { vectors: undefined, dim };
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(r, i * dim));
  return { vectors: out, dim };
}

try {
  const { cpuRunRows = DEFAULT_CPU_RUN_ROWS, ...loadOpts } = workerData as InferenceWorkerData;
  const model = await loadEmbeddingModel({
    ...loadOpts,
    logger: { warn: (obj, msg) => post({ type: 'log', obj, msg }) },
  });
  const cpu = model.info.executionProvider === 'cpu';
  const rows = cpu && cpuRunRows > 0 ? cpuRunRows : Number.MAX_SAFE_INTEGER;
  port.on('message', (req: WorkerRequest) => {
    void (async () => {
      try {
        switch (req.op) {
          case 'pixels': {
            const { vectors, dim } = pack(
              await sliced(req.batch, req.count, rows, (b, n) => model.embedPixelBatch(b, n)),
            );
            post({ type: 'done', id: req.id, vectors, dim }, vectors ? [vectors.buffer as ArrayBuffer] : []);
            return;
          }
          case 'tokens': {
            const { vectors, dim } = pack(
              await sliced(req.ids, req.count, rows, (ids, n) => model.embedTokens(ids, n)),
            );
            post({ type: 'done', id: req.id, vectors, dim }, vectors ? [vectors.buffer as ArrayBuffer] : []);
            return;
          }
          case 'warmUp':
            await model.warmUp();
            post({ type: 'done', id: req.id, vectors: undefined, dim: 0 });
            return;
          case 'close':
            await model.close();
            post({ type: 'done', id: req.id, vectors: undefined, dim: 0 });
            port.close();
            return;
        }
      } catch (err) {
        post({
          type: 'failed',
          id: req.id,
          message: err instanceof Error ? err.message : String(err),
          code: isAppError(err) ? err.code : undefined,
        });
      }
    })();
  });
  post({ type: 'ready', info: model.info });
} catch (err) {
  post({
    type: 'fatal',
    message: err instanceof Error ? err.message : String(err),
    code: isAppError(err) ? err.code : undefined,
  });
}
