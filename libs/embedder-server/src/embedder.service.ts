import type * as grpc from '@grpc/grpc-js';
import {
  AppError,
  CORRELATION_HEADER,
  currentCorrelationId,
  sanitizeCorrelationId,
  toGrpcError,
  withCorrelationId,
  type Logger,
} from '@image-search/service-kit';
import { ItemFailure, type EmbeddingModel } from '@image-search/embedding';
import type {
  EmbedderHandlers,
  EmbedImagesRequest__Output,
  EmbedResponse,
  EmbedResult,
  EmbedTextsRequest__Output,
  InfoResponse,
} from '@image-search/embedder-proto';
import { DynamicBatcher, type ItemOutcome } from './batcher.js';
import type { EmbedderMetrics } from './embedder.metrics.js';
import { defaultMaxBatch, type EmbedderSettings } from './embedder.config.js';
import type { TowerStatus } from './tower-slot.js';

type Call = grpc.ServerUnaryCall<unknown, unknown>;

/** gRPC status names for the latency metric's `code` label. */
const CODE_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'CANCELLED',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  8: 'RESOURCE_EXHAUSTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
};

/**
 * The Embedder RPCs: validation, per-item errors, and one dynamic batcher per tower.
 * Errors are mapped to gRPC statuses in one place (`unary`).
 */
export class EmbedderService {
  private model: EmbeddingModel | undefined;
  private text: DynamicBatcher<BigInt64Array> | undefined;
  private image: DynamicBatcher<Float32Array> | undefined;
  private draining = false;
  private readonly decodeSlots: Slots;
  /** GPU_BATCH_SIZE, or the device's default once the model says where it runs (0 before). */
  private maxBatch = 0;

  constructor(
    private readonly settings: EmbedderSettings,
    private readonly metrics: EmbedderMetrics,
    private readonly logger: Logger,
  ) {
    this.decodeSlots = new Slots(settings.preprocessConcurrency || Infinity);
  }

  /** The model's fingerprint (set with the model). */
  private fingerprint = '';

  /** Each tower's state for Info; a model without idle unload reports both loaded. */
  private towers: () => TowerStatus[] = () =>
    (['image', 'text'] as const).map((tower) => ({
      tower,
      state: 'loaded',
      lastUsedAt: undefined,
      reloads: 0,
      unloads: 0,
    }));

  /** Starts answering embed calls with a loaded, warmed-up model, its fingerprint and where its towers' states come from. */
  attach(model: EmbeddingModel, fingerprint: string, towers?: () => TowerStatus[]): void {
    this.fingerprint = fingerprint;
    if (towers) this.towers = towers;
    const s = this.settings;
    this.model = model;
    this.maxBatch = s.maxBatchSize || defaultMaxBatch(model.info.executionProvider);
    const ctx = model.info.contextLength;
    this.text = new DynamicBatcher<BigInt64Array>({
      name: 'text',
      maxBatch: this.maxBatch,
      maxWaitMs: s.textBatchWaitMs,
      capacity: s.queueCapacity,
      observer: this.metrics.observer('text'),
      run: (rows) => {
        const ids = new BigInt64Array(rows.length * ctx);
        rows.forEach((row, i) => ids.set(row, i * ctx));
        return model.embedTokens(ids, rows.length);
      },
    });
    this.image = new DynamicBatcher<Float32Array>({
      name: 'image',
      maxBatch: this.maxBatch,
      maxWaitMs: s.maxBatchWaitMs,
      capacity: s.queueCapacity,
      observer: this.metrics.observer('image'),
      run: (pixels) => model.embedPixels(pixels),
    });
  }

  /** The largest inference batch in effect (0 until a model is attached). */
  get maxBatchSize(): number {
    return this.maxBatch;
  }

  /** New calls get UNAVAILABLE from now on; queued and running batches still finish. */
  startDraining(): void {
    this.draining = true;
  }

  /** Resolves when both batchers are empty and idle. */
  async drained(): Promise<void> {
    await Promise.all([this.text?.drained(), this.image?.drained()]);
  }

  /** The gRPC handler table for the Embedder service. */
  handlers(): EmbedderHandlers {
    return {
      EmbedTexts: this.unary('EmbedTexts', (req: EmbedTextsRequest__Output, call) => this.embedTexts(req, call)),
      EmbedImages: this.unary('EmbedImages', (req: EmbedImagesRequest__Output, call) => this.embedImages(req, call)),
      Info: this.unary('Info', () => Promise.resolve(this.info())),
    };
  }

  private unary<Req, Res>(rpc: string, fn: (req: Req, call: Call) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const raw = call.metadata.get(CORRELATION_HEADER)[0];
      withCorrelationId(sanitizeCorrelationId(typeof raw === 'string' ? raw : raw?.toString()), () => {
        const started = performance.now();
        const observe = (code: number) =>
          this.metrics.rpcSeconds.observe(
            { rpc, code: CODE_NAMES[code] ?? String(code) },
            (performance.now() - started) / 1000,
          );
        // A synchronous throw inside fn must become a status too, not grpc-js's generic UNKNOWN.
        new Promise<Res>((resolve) => resolve(fn(call.request, call as Call))).then(
          (res) => {
            observe(0);
            callback(null, res);
          },
          (err: unknown) => {
            const mapped = toGrpcError(err, currentCorrelationId());
            observe(mapped.code);
            if (err instanceof AppError) {
              this.metrics.errors.inc({ reason: err.code });
              this.logger.warn({ rpc, code: err.code, err: err.message }, 'call failed');
            } else {
              this.metrics.errors.inc({ reason: 'INTERNAL' });
              this.logger.error({ rpc, err }, 'call failed with an unexpected error');
            }
            callback({ code: mapped.code, details: mapped.details });
            return;
          },
        );
      });
    };
  }

  private ready(): { model: EmbeddingModel; text: DynamicBatcher<BigInt64Array>; image: DynamicBatcher<Float32Array> } {
    if (this.draining) throw new AppError('UNAVAILABLE', 'embedder is shutting down; retry on another replica');
    if (!this.model || !this.text || !this.image)
      throw new AppError('UNAVAILABLE', 'embedder is still loading its model; retry shortly');
    return { model: this.model, text: this.text, image: this.image };
  }

  private checkCount(what: string, n: number): void {
    if (n === 0) throw new AppError('INVALID_ARGUMENT', `the request has no ${what}; send at least one`);
    if (n > this.settings.maxRequestItems) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `the request carries ${n} ${what}, over the limit of ${this.settings.maxRequestItems} (max_request_items in Info); split it into smaller requests`,
        {
          details: { items: n, max_request_items: this.settings.maxRequestItems },
        },
      );
    }
  }

  private async embedTexts(req: EmbedTextsRequest__Output, call: Call): Promise<EmbedResponse> {
    const { model, text } = this.ready();
    const texts = req.texts ?? [];
    this.checkCount('texts', texts.length);
    const alive = aliveCheck(call);
    const max = this.settings.maxTextChars;
    const prepared = texts.map((t) => () => {
      if (t.trim() === '') throw new ItemFailure('EMPTY_INPUT', 'an empty text');
      if (t.length > max)
        throw new ItemFailure('INPUT_TOO_LARGE', `a text of ${t.length} characters; limit ${max} (MAX_TEXT_CHARS)`);
      return Promise.resolve(model.tokenize([t]));
    });
    return this.respond('texts', await text.submit(prepared, alive), call);
  }

  private async embedImages(req: EmbedImagesRequest__Output, call: Call): Promise<EmbedResponse> {
    const { model, image } = this.ready();
    const images = req.images ?? [];
    this.checkCount('images', images.length);
    const alive = aliveCheck(call);
    const max = this.settings.maxImageBytes;
    const prepared = images.map((img) => () => {
      const bytes = img.data;
      // The same words inspectImage uses, so the gateway's pre-check and this agree.
      if (!bytes || bytes.length === 0) throw new ItemFailure('EMPTY_INPUT', '0 bytes');
      if (bytes.length > max)
        throw new ItemFailure('INPUT_TOO_LARGE', `${bytes.length} bytes; limit ${max} (MAX_IMAGE_BYTES)`);
      return this.decodeSlots.run(() => model.preprocessImage(bytes));
    });
    const outcomes = await image.submit(prepared, alive);
    outcomes.forEach((o, i) => {
      if (!o.ok && 'failure' in o)
        this.logger.debug(
          { image_id: images[i]?.id, reason: o.failure.reason, err: o.failure.message },
          'image rejected',
        );
    });
    return this.respond('images', outcomes, call);
  }

  private respond(what: string, outcomes: ItemOutcome[], call: Call): EmbedResponse {
    const dropped = outcomes.filter((o) => !o.ok && 'dropped' in o).length;
    if (dropped > 0) {
      const cancelled = call.cancelled && !deadlinePassed(call);
      throw new AppError(
        cancelled ? 'CANCELLED' : 'DEADLINE_EXCEEDED',
        `${dropped} of ${outcomes.length} ${what} were dropped before inference because the call was ${cancelled ? 'cancelled' : 'past its deadline'}`,
      );
    }
    const results: EmbedResult[] = outcomes.map((o) => {
      if (o.ok) return { embedding: Buffer.from(o.vector.buffer, o.vector.byteOffset, o.vector.byteLength) };
      const failure = (o as { failure: ItemFailure }).failure;
      this.metrics.errors.inc({ reason: failure.reason });
      return { error: { reason: failure.reason, message: failure.message } };
    });
    return { results, modelId: this.model?.info.modelId ?? '', dim: this.model?.info.dim ?? 0 };
  }

  private info(): InfoResponse {
    const { model } = this.ready();
    const i = model.info;
    const s = this.settings;
    return {
      modelId: i.modelId,
      family: i.family,
      embeddingDim: i.dim,
      normalized: true,
      contextLength: i.contextLength,
      imageSize: i.imageSize,
      executionProvider: i.executionProvider,
      maxBatchSize: this.maxBatch,
      maxBatchWaitMs: s.maxBatchWaitMs,
      maxRequestItems: s.maxRequestItems,
      maxImageBytes: String(s.maxImageBytes),
      maxImagePixels: String(s.maxImagePixels),
      variant: i.variant,
      layout: i.layout,
      queueCapacity: s.queueCapacity,
      modelDir: i.modelDir,
      maxMessageBytes: String(s.maxMessageBytes),
      maxTextChars: s.maxTextChars,
      fingerprint: this.fingerprint,
      towers: this.towers().map((t) => ({
        tower: t.tower,
        state: t.state,
        lastUsedUnixMs: String(t.lastUsedAt ?? 0),
      })),
      idleUnloadS: s.idleUnloadS,
    };
  }
}

function deadlineMs(call: Call): number {
  const d = call.getDeadline();
  return d instanceof Date ? d.getTime() : d;
}

function deadlinePassed(call: Call): boolean {
  return Date.now() >= deadlineMs(call);
}

/** Whether the caller still waits: not cancelled and within its deadline. Checked again right before inference. */
function aliveCheck(call: Call): () => boolean {
  const alive = () => !call.cancelled && !deadlinePassed(call);
  if (!alive())
    throw new AppError(
      call.cancelled && !deadlinePassed(call) ? 'CANCELLED' : 'DEADLINE_EXCEEDED',
      'the call was already past its deadline or cancelled when it arrived',
    );
  return alive;
}

/** A counting semaphore: at most `size` tasks run at once, the rest wait in order. */
class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.busy++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}
