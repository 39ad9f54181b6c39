import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DecodePool } from '@image-search/image-formats';
import { ImagePreprocessor, type PreparedPixels } from './image-preprocessor.js';
import type { ImagePreprocessSpec } from './image-spec.js';
import type { ImageLimits } from './model.types.js';

/** What each decode worker is started with. */
export interface PreprocessWorkerInit {
  spec: ImagePreprocessSpec;
  limits: ImageLimits;
}

/** Time budget and processes of pooled decoding. */
export interface DecodeBudget {
  /** MAX_DECODE_MS: a decode over it is killed and fails with DECODE_TIMEOUT. */
  timeoutMs: number;
  /** Decode processes (each decodes one image at a time). */
  workers: number;
  /** Told when a worker is killed or dies and is replaced. */
  onReplace?: (why: 'timeout' | 'exit', detail: string) => void;
}

/**
 * The worker's entry: in a build, preprocess.worker.mjs bundled beside main.mjs (the embedder
 * apps' build target writes it); from sources, a bootstrap that loads the TypeScript through tsx.
 */
function workerEntry(): URL {
  const bundled = new URL('./preprocess.worker.mjs', import.meta.url);
  return existsSync(fileURLToPath(bundled)) ? bundled : new URL('./preprocess.worker.bootstrap.mjs', import.meta.url);
}

/**
 * The image pipeline of ImagePreprocessor with decoding and resizing in killable worker
 * processes under a per-image time budget; normalisation (one pass over the small square)
 * stays here. Same results, bit for bit, as the in-process preprocessor.
 */
export class PooledImagePreprocessor {
  private readonly local: ImagePreprocessor;
  private readonly pool: DecodePool;

  constructor(
    readonly spec: ImagePreprocessSpec,
    readonly limits: ImageLimits,
    budget: DecodeBudget,
  ) {
    this.local = new ImagePreprocessor(spec, limits);
    const init: PreprocessWorkerInit = { spec, limits };
    this.pool = new DecodePool({
      entry: workerEntry(),
      size: budget.workers,
      timeoutMs: budget.timeoutMs,
      init,
      onReplace: budget.onReplace,
    });
  }

  get size(): number {
    return this.local.size;
  }

  get tensorLength(): number {
    return this.local.tensorLength;
  }

  /** Resolves once every worker has started. */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  /** Decodes and prepares in a worker (8-bit RGB square). */
  preparePixels(bytes: Uint8Array): Promise<PreparedPixels> {
    return this.pool.run<PreparedPixels>(bytes);
  }

  /** Decodes in a worker, normalises here; throws ItemFailure (DECODE_TIMEOUT included) for bad input. */
  async preprocess(bytes: Uint8Array): Promise<Float32Array> {
    const px = await this.preparePixels(bytes);
    const out = new Float32Array(this.local.tensorLength);
    this.local.normalizeInto(px.data, out, 0);
    return out;
  }

  /** Stops the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
