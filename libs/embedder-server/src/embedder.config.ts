import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { env } from '@image-search/service-kit';
import type { ModelFamily } from '@image-search/collection-schema';
import { DEFAULT_MODELS, resolveModelDir, type DeviceRequest } from '@image-search/embedding';
import { DEFAULT_CPU_RUN_ROWS } from './inference.protocol.js';

/** What differs between the two embedder apps; everything else is shared. */
export const FAMILY_DEFAULTS: Record<ModelFamily, { grpcPort: number; metricsPort: number; dim: number }> = {
  clip: { grpcPort: 50051, metricsPort: 9464, dim: 512 },
  siglip: { grpcPort: 50052, metricsPort: 9465, dim: 768 },
};

const MiB = 1024 * 1024;

const device = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx): DeviceRequest => {
      if (v === undefined || v === '') return 'cpu';
      if (v === 'cpu' || v === 'cuda' || v === 'auto' || /^cuda:\d+$/.test(v)) return v as DeviceRequest;
      ctx.addIssue({ code: 'custom', message: 'expected cpu, cuda, cuda:N or auto' });
      return z.NEVER;
    });

/** Variables every embedder shares, whatever its family. */
function commonShape(family: ModelFamily) {
  const d = FAMILY_DEFAULTS[family];
  return {
    // 0.0.0.0 because the service runs in a container behind a Service; set 127.0.0.1 for a laptop.
    EMBEDDER_HOST: env.str('0.0.0.0'),
    EMBEDDER_PORT: env.port(d.grpcPort),
    METRICS_PORT: env.port(d.metricsPort),
    MODELS_DIR: env.str('./models'),
    MODEL_DIR: env.optStr(),
    DEVICE: device(),
    // 0 = by device (defaultMaxBatch): large batches pay on a GPU, not on a CPU.
    GPU_BATCH_SIZE: env.int(0, 0, 1024),
    // Rows per onnxruntime run on a CPU (a collected batch runs in slices of this many); 0 = the whole
    // batch. A run's activations grow with its rows and are the served peak (docs/benchmarks/memory.md).
    CPU_RUN_ROWS: env.int(DEFAULT_CPU_RUN_ROWS, 0, 1024),
    MAX_BATCH_WAIT_MS: env.int(10, 0, 10_000),
    // Text queries are latency-bound (a person waits): by default they dispatch as soon as the
    // text tower is idle and only batch up while it is busy.
    TEXT_BATCH_WAIT_MS: env.int(0, 0, 10_000),
    MODEL_VARIANT: env.oneOf(['fp32', 'fp16', 'quantized'] as const, 'fp32'),
    // 0 = let the embedding lib pick (the number of physical cores).
    INTRA_OP_THREADS: env.int(0, 0, 256),
    // Images decoded at once; 0 = no cap (the libuv pool, 4 threads by default, decides). A cap of
    // the CPUs onnxruntime leaves free was measured on 2 vCPUs and made no difference beyond noise.
    PREPROCESS_CONCURRENCY: env.int(0, 0, 256),
    // Per-image decode budget; a decode over it is killed (its worker process replaced) and fails
    // with DECODE_TIMEOUT. 0 decodes in the embedder process itself, without a budget. 10 s leaves
    // a 12 MP HEIC (wasm HEVC: 5.4 s on a loaded 2-vCPU box, docs/benchmarks/decode.md) room
    // while a many-scan JPEG (tens of seconds) is still cut off.
    MAX_DECODE_MS: env.int(10_000, 0, 600_000),
    // Decode worker processes; 0 = one per CPU (at least 2).
    DECODE_WORKERS: env.int(0, 0, 256),
    MAX_IMAGE_BYTES: env.int(20 * MiB, 1024, 2 ** 31 - 1),
    MAX_IMAGE_PIXELS: env.int(50_000_000, 1024, 2 ** 40),
    MAX_TEXT_CHARS: env.int(2000, 1, 1_000_000),
    QUEUE_CAPACITY: env.int(512, 1, 1_000_000),
    MAX_REQUEST_ITEMS: env.int(64, 1, 100_000),
    MAX_MESSAGE_BYTES: env.int(64 * MiB, 4 * MiB, 2 ** 31 - 1),
    MAX_CONNECTION_AGE_MS: env.int(300_000, 1000, 2 ** 31 - 1),
    MAX_CONNECTION_AGE_GRACE_MS: env.int(30_000, 0, 2 ** 31 - 1),
    KEEPALIVE_TIME_MS: env.int(30_000, 1000, 2 ** 31 - 1),
    // Seconds without calls after which a tower (image or text, each on its own) is unloaded and its
    // memory returned; the next call loads it again (seconds for a full-size model, docs/benchmarks/memory.md).
    // 0 = never: a server that sees steady traffic gains nothing and its first call after a pause would wait.
    MODEL_IDLE_UNLOAD_S: env.int(0, 0, 30 * 86_400),
    LOG_LEVEL: env.logLevel(),
    SHUTDOWN_TIMEOUT_MS: env.int(20_000, 100, 600_000),
  };
}

function clipShape() {
  const m = DEFAULT_MODELS.clip;
  return {
    CLIP_MODEL_NAME: env.str(m.name),
    CLIP_PRETRAINED: env.str(m.pretrained),
    CLIP_EMBEDDING_DIM: env.int(FAMILY_DEFAULTS.clip.dim, 0, 65_536),
  };
}

function siglipShape() {
  const m = DEFAULT_MODELS.siglip;
  return {
    SIGLIP_MODEL_NAME: env.str(m.name),
    SIGLIP_PRETRAINED: env.str(m.pretrained),
    SIGLIP_EMBEDDING_DIM: env.int(FAMILY_DEFAULTS.siglip.dim, 0, 65_536),
  };
}

function withFamily<S extends z.ZodRawShape>(family: ModelFamily, own: S) {
  return z.object({ ...commonShape(family), ...own }).refine(
    (c) => {
      const v = c as unknown as { QUEUE_CAPACITY: number; MAX_REQUEST_ITEMS: number };
      return v.QUEUE_CAPACITY >= v.MAX_REQUEST_ITEMS;
    },
    {
      message: 'QUEUE_CAPACITY must be at least MAX_REQUEST_ITEMS, or a full-size request could never be queued',
      path: ['QUEUE_CAPACITY'],
    },
  );
}

const clipSchema = () => withFamily('clip', clipShape());
const siglipSchema = () => withFamily('siglip', siglipShape());

/**
 * The embedder's environment schema for one model family. Both apps share it; only the
 * `<FAMILY>_*` variable names (model name, pretrained tag, expected dimension; 0 turns the
 * dimension check off, e.g. for tiny test models) and the defaults (ports, model) differ.
 */
export function embedderConfigSchema(family: 'clip'): ReturnType<typeof clipSchema>;
export function embedderConfigSchema(family: 'siglip'): ReturnType<typeof siglipSchema>;
export function embedderConfigSchema(
  family: ModelFamily,
): ReturnType<typeof clipSchema> | ReturnType<typeof siglipSchema> {
  return family === 'clip' ? clipSchema() : siglipSchema();
}

/** Parsed embedder configuration (family-specific keys included). */
export type EmbedderEnv = z.infer<ReturnType<typeof clipSchema>> | z.infer<ReturnType<typeof siglipSchema>>;

/** The configuration the server runs with, independent of the family's variable names. */
export interface EmbedderSettings {
  family: ModelFamily;
  host: string;
  port: number;
  metricsPort: number;
  modelDir: string;
  /** `NAME/PRETRAINED` when the model was named; undefined when MODEL_DIR points at a folder (the loader then names it). */
  modelId: string | undefined;
  /** Expected embedding dimension; 0 skips the check. */
  expectedDim: number;
  /** Name of the variable that set expectedDim, for error messages. */
  dimVariable: string;
  device: DeviceRequest;
  /** The most items in one inference batch; 0 = by device (defaultMaxBatch). */
  maxBatchSize: number;
  /** Rows per onnxruntime run on a CPU; 0 = the whole batch in one run. */
  cpuRunRows: number;
  maxBatchWaitMs: number;
  textBatchWaitMs: number;
  variant: 'fp32' | 'fp16' | 'quantized';
  intraOpThreads: number | undefined;
  /** Images decoded at once (0 = no cap). */
  preprocessConcurrency: number;
  /** Per-image decode budget in ms (0 = decode in-process, no budget). */
  maxDecodeMs: number;
  /** Decode worker processes. */
  decodeWorkers: number;
  maxImageBytes: number;
  maxImagePixels: number;
  maxTextChars: number;
  queueCapacity: number;
  maxRequestItems: number;
  maxMessageBytes: number;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  keepaliveTimeMs: number;
  shutdownTimeoutMs: number;
  /** Unload a tower after this many seconds without calls; 0 = never. */
  idleUnloadS: number;
}

/**
 * The batch size when GPU_BATCH_SIZE is not set. A GPU needs large batches to be busy; on a CPU,
 * throughput is flat from batch 8 to 32 (docs/benchmarks/embedders.md), and smaller batches need
 * smaller onnxruntime arenas and answer each call sooner.
 */
export function defaultMaxBatch(provider: 'cpu' | 'cuda'): number {
  return provider === 'cuda' ? 32 : 8;
}

/** Turns the parsed environment of one family into server settings. */
export function toEmbedderSettings(family: ModelFamily, c: EmbedderEnv): EmbedderSettings {
  const F = family.toUpperCase();
  const get = (k: string) => (c as unknown as Record<string, unknown>)[`${F}_${k}`];
  const name = String(get('MODEL_NAME'));
  const pretrained = String(get('PRETRAINED'));
  return {
    family,
    host: c.EMBEDDER_HOST,
    port: c.EMBEDDER_PORT,
    metricsPort: c.METRICS_PORT,
    modelDir: resolveModelDir({ modelDir: c.MODEL_DIR, modelsDir: c.MODELS_DIR, name, pretrained }),
    modelId: c.MODEL_DIR ? undefined : `${name}/${pretrained}`,
    expectedDim: Number(get('EMBEDDING_DIM')),
    dimVariable: `${F}_EMBEDDING_DIM`,
    device: c.DEVICE,
    maxBatchSize: c.GPU_BATCH_SIZE,
    cpuRunRows: c.CPU_RUN_ROWS,
    maxBatchWaitMs: c.MAX_BATCH_WAIT_MS,
    textBatchWaitMs: c.TEXT_BATCH_WAIT_MS,
    variant: c.MODEL_VARIANT,
    intraOpThreads: c.INTRA_OP_THREADS === 0 ? undefined : c.INTRA_OP_THREADS,
    preprocessConcurrency: c.PREPROCESS_CONCURRENCY,
    maxDecodeMs: c.MAX_DECODE_MS,
    decodeWorkers: c.DECODE_WORKERS || Math.max(2, availableParallelism()),
    maxImageBytes: c.MAX_IMAGE_BYTES,
    maxImagePixels: c.MAX_IMAGE_PIXELS,
    maxTextChars: c.MAX_TEXT_CHARS,
    queueCapacity: c.QUEUE_CAPACITY,
    maxRequestItems: c.MAX_REQUEST_ITEMS,
    maxMessageBytes: c.MAX_MESSAGE_BYTES,
    maxConnectionAgeMs: c.MAX_CONNECTION_AGE_MS,
    maxConnectionAgeGraceMs: c.MAX_CONNECTION_AGE_GRACE_MS,
    keepaliveTimeMs: c.KEEPALIVE_TIME_MS,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    idleUnloadS: c.MODEL_IDLE_UNLOAD_S,
  };
}
