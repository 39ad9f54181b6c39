/** Environment schema of an embedder app, parameterised by model family. */
export {
  embedderConfigSchema,
  toEmbedderSettings,
  FAMILY_DEFAULTS,
  type EmbedderEnv,
  type EmbedderSettings,
} from './embedder.config.js';
/** The embedder gRPC server: model lifecycle, health, metrics, graceful drain. */
export { EmbedderServer, type EmbedderServerOptions } from './embedder.server.js';
/** Prometheus metrics of one embedder. */
export { EmbedderMetrics, type Tower } from './embedder.metrics.js';
/** Dynamic batcher used per model tower (exported for benchmarks and tests). */
export { DynamicBatcher, type BatcherOptions, type ItemOutcome } from './batcher.js';
/** Loads a model whose ONNX inference runs in a worker thread (keeps the event loop free); the apps' loader. */
export { loadWorkerModel, WorkerEmbeddingModel, type WorkerModelOptions } from './worker-model.js';
