// The inference worker thread: owns the onnxruntime sessions. onnxruntime-node runs inference
// synchronously on the calling thread, so on the main thread it would freeze the event loop
// (no gRPC traffic, no image decoding, no health checks) for the length of every batch.
import { parentPort, workerData } from 'node:worker_threads';
import { isAppError } from '@image-search/service-kit';
import { loadEmbeddingModel, type LoadModelOptions } from '@image-search/embedding';
import type { WorkerReply, WorkerRequest } from './inference.protocol.js';

const port = parentPort;
if (!port) throw new Error('inference.worker must run in a worker thread');
const post = (msg: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

function pack(rows: Float32Array[]): { vectors: Float32Array | undefined; dim: number } {
  const dim = rows[0]?.length ?? 0;
  if (rows.length === 0) return { vectors: undefined, dim };
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(r, i * dim));
  return { vectors: out, dim };
}

try {
  const model = await loadEmbeddingModel({
    ...(workerData as LoadModelOptions),
    logger: { warn: (obj, msg) => post({ type: 'log', obj, msg }) },
  });
  port.on('message', (req: WorkerRequest) => {
    void (async () => {
      try {
        switch (req.op) {
          case 'pixels': {
            const { vectors, dim } = pack(await model.embedPixelBatch(req.batch, req.count));
            post({ type: 'done', id: req.id, vectors, dim }, vectors ? [vectors.buffer as ArrayBuffer] : []);
            return;
          }
          case 'tokens': {
            const { vectors, dim } = pack(await model.embedTokens(req.ids, req.count));
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
