import type { LoadModelOptions, ModelInfo } from '@image-search/embedding';

/**
 * Rows per onnxruntime run on a CPU when CPU_RUN_ROWS is unset. The batcher may collect more
 * (GPU_BATCH_SIZE); a CPU runs them in slices: throughput is flat from batch 8 to 32 there
 * (docs/benchmarks/embedders.md), while a run's activations grow with its rows and are the served
 * peak (CLIP int8, both towers at batch 32: +115 MiB over the loaded model, +31 MiB at 8;
 * docs/benchmarks/memory.md). GPUs run the whole batch.
 */
export const DEFAULT_CPU_RUN_ROWS = 8;

/** What an inference worker thread starts with: the model to load and how a CPU slices a batch. */
export type InferenceWorkerData = LoadModelOptions & {
  /** Rows per onnxruntime run on a CPU (unset: DEFAULT_CPU_RUN_ROWS; 0: the whole batch). */
  cpuRunRows?: number;
};

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
