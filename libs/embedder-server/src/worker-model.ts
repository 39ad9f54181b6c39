import { AppError } from '@image-search/service-kit';
import {
  createTextTokenizer,
  DEFAULT_IMAGE_LIMITS,
  encodeBatch,
  ImagePreprocessor,
  PooledImagePreprocessor,
  readModelFolder,
  towerDim,
  type DecodeBudget,
  type DeviceRequest,
  type EmbeddingModel,
  type ImageLimits,
  type LoadModelOptions,
  type ModelInfo,
  type TextTokenizer,
} from '@image-search/embedding';
import { InferenceLane, type LaneResult } from './inference-lane.js';
import { TowerSlot, type TowerEvent, type TowerStatus } from './tower-slot.js';

/**
 * An EmbeddingModel whose ONNX towers run in two worker threads, one per tower, while tokenizing
 * and image decoding stay on the main thread (sharp decodes on the libuv pool). The main event
 * loop keeps taking calls, decoding the next batch and answering health checks during inference.
 * Each tower runs one job at a time. A text query does not wait for the image batch that is
 * running: with both towers in one thread, a search waited for up to one whole image batch
 * (1.3 s at batch 32 for CLIP fp32 on 2 vCPUs) while re-embedding kept the image tower busy.
 * With `idleUnloadMs`, a tower idle for that long has its thread ended and is loaded again by its next job
 * (tower-slot.ts); the tokenizer, the image pipeline and `info` stay, so Info and health answer meanwhile.
 */
export class WorkerEmbeddingModel implements EmbeddingModel {
  private closed = false;
  private broken: AppError | undefined;

  private constructor(
    readonly info: ModelInfo,
    readonly limits: ImageLimits,
    private readonly tokenizer: TextTokenizer,
    private readonly images: ImagePreprocessor | PooledImagePreprocessor,
    private readonly imageSlot: TowerSlot,
    private readonly textSlot: TowerSlot,
  ) {}

  /** The image tower's thread (throws while the tower is unloaded). */
  get imageLane(): InferenceLane {
    return running(this.imageSlot);
  }

  /** The text tower's thread (throws while the tower is unloaded). */
  get textLane(): InferenceLane {
    return running(this.textSlot);
  }

  /** Each tower's state: loaded, unloaded (idle) or loading, and when it last ran a job. */
  towers(): TowerStatus[] {
    return [this.imageSlot.status(), this.textSlot.status()];
  }

  /** Loads the model: one worker thread per tower, tokenizer and image pipeline here. */
  static async load(opts: WorkerModelOptions): Promise<WorkerEmbeddingModel> {
    const folder = readModelFolder(opts.modelDir, { family: opts.family, variant: opts.variant });
    const tokenizer = createTextTokenizer({
      family: folder.family,
      style: folder.textStyle,
      tokenizerJson: folder.tokenizerJson,
      tokenizerConfig: folder.tokenizerConfig,
      contextLength: folder.contextLength,
      file: folder.tokenizerFile,
    });
    const limits: ImageLimits = {
      ...DEFAULT_IMAGE_LIMITS,
      ...Object.fromEntries(Object.entries(opts.limits ?? {}).filter(([, v]) => v !== undefined && v !== 0)),
    };
    // With a budget, images decode in killable worker processes; without one (MAX_DECODE_MS=0), here.
    const images = opts.decode
      ? new PooledImagePreprocessor(folder.image, limits, opts.decode)
      : new ImagePreprocessor(folder.image, limits);
    const { logger, onCrash, onTowerEvent, idleUnloadMs, decode: _decode, ...loadOpts } = opts;
    // Either thread dying leaves the model half-served: fail both towers' work and report it once.
    const state: { model?: WorkerEmbeddingModel; broken?: AppError } = {};
    const hooks = {
      onLog: logger ? (obj: object, msg: string) => logger.warn(obj, msg) : undefined,
      onCrash: (err: AppError) => {
        if (state.broken) return;
        state.broken = err;
        void state.model?.fail(err);
        onCrash?.(err);
      },
    };
    const start = (towers: 'image' | 'text', device: DeviceRequest | undefined) =>
      InferenceLane.start(towers, { ...loadOpts, device, limits, towers }, hooks);
    const starting: Promise<InferenceLane>[] = [];
    try {
      starting.push(start('image', opts.device));
      // The text tower loads once the image tower is up: while onnxruntime loads a model it holds the
      // file's bytes and the weights at once, and two loads side by side add their transient copies
      // (under load the served peak sits in inference, not in loading: docs/benchmarks/memory.md).
      // With DEVICE=auto the text tower also goes where the image tower landed.
      const imageInfo = (await starting[0]!).info;
      const textDevice = opts.device === 'auto' && imageInfo.executionProvider === 'cpu' ? 'cpu' : opts.device;
      starting.push(start('text', textDevice));
      const [imageLane, textLane] = (await Promise.all(starting)) as [InferenceLane, InferenceLane];
      if (images instanceof PooledImagePreprocessor) await images.ready();
      const [i, t] = [imageLane.info, textLane.info];
      const info: ModelInfo = {
        ...i,
        dim: towerDim(i.modelDir, i.dim, t.dim),
        contextLength: t.contextLength,
        executionProvider: i.executionProvider === 'cuda' && t.executionProvider === 'cuda' ? 'cuda' : 'cpu',
        maxModelBatch: Math.min(i.maxModelBatch, t.maxModelBatch),
      };
      // A reload goes where the first load landed (DEVICE=auto that fell back to CPU does not warn again).
      const again = (d: DeviceRequest | undefined, provider: string) =>
        d === 'auto' && provider === 'cpu' ? 'cpu' : d;
      const slot = (tower: 'image' | 'text', lane: InferenceLane, device: DeviceRequest | undefined) =>
        new TowerSlot(
          { tower, idleMs: idleUnloadMs ?? 0, start: () => start(tower, device), onEvent: onTowerEvent },
          lane,
        );
      state.model = new WorkerEmbeddingModel(
        info,
        limits,
        tokenizer,
        images,
        slot('image', imageLane, again(opts.device, i.executionProvider)),
        slot('text', textLane, again(textDevice, t.executionProvider)),
      );
      return state.model;
    } catch (err) {
      // No thread or decode process may outlive a failed start.
      if (images instanceof PooledImagePreprocessor) await images.close();
      const settled = await Promise.allSettled(starting);
      await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
      throw err;
    }
  }

  /** Refuses all further work with `err` (one tower's thread died) and ends the other thread. */
  async fail(err: AppError): Promise<void> {
    this.broken ??= err;
    await this.close();
  }

  tokenize(texts: string[]): BigInt64Array {
    return encodeBatch(this.tokenizer, texts).ids;
  }

  async embedTokens(ids: BigInt64Array, count: number): Promise<Float32Array[]> {
    if (this.broken) throw this.broken;
    // Copy so the caller's array stays usable after the buffer is transferred.
    const own = ids.slice();
    return split(await this.textSlot.submit({ op: 'tokens', ids: own, count }, [own.buffer as ArrayBuffer]), count);
  }

  embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.embedTokens(this.tokenize(texts), texts.length);
  }

  preprocessImage(bytes: Uint8Array): Promise<Float32Array> {
    return this.images.preprocess(bytes);
  }

  async embedPixels(pixels: Float32Array[]): Promise<Float32Array[]> {
    if (this.broken) throw this.broken;
    const len = this.images.tensorLength;
    const batch = new Float32Array(pixels.length * len);
    pixels.forEach((p, i) => {
      if (p.length !== len)
        throw new AppError('INVALID_ARGUMENT', `pixel tensor ${i} has ${p.length} values, expected ${len}`);
      batch.set(p, i * len);
    });
    return split(
      await this.imageSlot.submit({ op: 'pixels', batch, count: pixels.length }, [batch.buffer]),
      pixels.length,
    );
  }

  async warmUp(): Promise<void> {
    await Promise.all([this.imageSlot.submit({ op: 'warmUp' }), this.textSlot.submit({ op: 'warmUp' })]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([
      this.imageSlot.close(),
      this.textSlot.close(),
      this.images instanceof PooledImagePreprocessor ? this.images.close() : undefined,
    ]);
  }
}

function running(slot: TowerSlot): InferenceLane {
  const lane = slot.current;
  if (!lane)
    throw new AppError('UNAVAILABLE', `the ${slot.status().tower} tower is ${slot.state} (MODEL_IDLE_UNLOAD_S)`);
  return lane;
}

function split(r: LaneResult, count: number): Float32Array[] {
  if (!r.vectors || r.vectors.length !== count * r.dim)
    throw new AppError('INTERNAL', `the inference worker returned ${r.vectors?.length ?? 0} values for ${count} items`);
  return Array.from({ length: count }, (_, i) => r.vectors!.subarray(i * r.dim, (i + 1) * r.dim));
}

/** Options of loadWorkerModel: the embedding lib's, plus where warnings and a worker crash are reported. */
export type WorkerModelOptions = LoadModelOptions & {
  logger?: { warn(obj: object, msg: string): void };
  onCrash?: (err: Error) => void;
  /** Decode in worker processes under this per-image time budget (unset: in this process, no budget). */
  decode?: DecodeBudget;
  /** End a tower's thread after this long without jobs and load it again on the next (0 or unset: never). */
  idleUnloadMs?: number;
  /** Each tower state change (unloaded, loading, reloaded, reload_failed), for logs and metrics. */
  onTowerEvent?: (e: TowerEvent) => void;
  /** Rows per onnxruntime run on a CPU (CPU_RUN_ROWS; unset: DEFAULT_CPU_RUN_ROWS, 0: the whole batch). */
  cpuRunRows?: number;
};

/** Loads a model whose inference runs off the main thread (the embedder's default loader). */
export function loadWorkerModel(opts: WorkerModelOptions): Promise<EmbeddingModel> {
  return WorkerEmbeddingModel.load(opts);
}
