import type { ModelInfo } from '@image-search/embedding';

/** A job for the inference worker. Typed arrays travel as transferred buffers (no copy). */
export type WorkerRequest =
  | { id: number; op: 'pixels'; batch: Float32Array; count: number }
  | { id: number; op: 'tokens'; ids: BigInt64Array; count: number }
  | { id: number; op: 'warmUp' }
  | { id: number; op: 'close' };

/** The worker's answers: `vectors` holds `count` rows of `dim` values end to end. */
export type WorkerReply =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'log'; obj: object; msg: string }
  | { type: 'fatal'; message: string; code: string | undefined }
  | { type: 'done'; id: number; vectors: Float32Array | undefined; dim: number }
  | { type: 'failed'; id: number; message: string; code: string | undefined };
