import * as grpc from '@grpc/grpc-js';
import { AppError, CORRELATION_HEADER, currentCorrelationId, fromGrpcCode, GrpcCode } from '@image-search/service-kit';
import {
  ITEM_ERROR_REASONS,
  EMBEDDER_SERVICE_NAME,
  loadEmbedderProto,
  loadHealthProto,
  type EmbedResponse__Output,
  type InfoResponse__Output,
} from '@image-search/embedder-proto';
import type {
  CallOptions,
  EmbedderApi,
  EmbedderInfo,
  EmbedItemResult,
  TowerInfo,
  TowerState,
} from './embedder-client.types.js';
import { backoffDelayMs, chunkItems, sleep } from './retry.js';

/** Options of an EmbedderClient; only `address` is required. */
export interface EmbedderClientOptions {
  /** host:port, or any gRPC target (e.g. `dns:///siglip-embedder:50052` to balance over a headless Service). */
  address: string;
  /** Deadline of a call, retries and chunks included, unless the call sets its own (ms). */
  defaultDeadlineMs?: number;
  /** Retries after an UNAVAILABLE answer (the only status that is safe and useful to retry). */
  retries?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** HTTP/2 keepalive ping interval (ms); finds dead connections before a call does. */
  keepaliveTimeMs?: number;
  /** Chunks of one large call in flight at once. */
  chunkConcurrency?: number;
  /** Items per request; by default the server's max_request_items from Info (fetched once, cached). */
  maxRequestItems?: number;
  /** Extra gRPC channel options. */
  channelOptions?: grpc.ChannelOptions;
}

type Method = 'EmbedTexts' | 'EmbedImages' | 'Info';
type GrpcError = grpc.ServiceError;
type Limits = { maxItems: number; maxBytes: number };

const REASONS: ReadonlySet<string> = new Set(ITEM_ERROR_REASONS);
/** Room for protobuf framing and the other fields of a request, under the server's message limit. */
const FRAMING_BYTES = 64 * 1024;

/**
 * Typed client of one embedder service (gRPC). Every call has a deadline; UNAVAILABLE is
 * retried with exponential backoff and jitter inside that deadline; large batches are split
 * into requests the server accepts; the current correlation id travels in the metadata.
 */
export class EmbedderClient implements EmbedderApi {
  private readonly client: InstanceType<
    ReturnType<typeof loadEmbedderProto>['imagesearch']['embedder']['v1']['Embedder']
  >;
  private readonly healthClient: InstanceType<ReturnType<typeof loadHealthProto>['grpc']['health']['v1']['Health']>;
  private readonly o: Required<Omit<EmbedderClientOptions, 'maxRequestItems' | 'channelOptions'>> &
    Pick<EmbedderClientOptions, 'maxRequestItems'>;
  private infoCache: Promise<EmbedderInfo> | undefined;

  constructor(opts: EmbedderClientOptions) {
    this.o = {
      address: opts.address,
      defaultDeadlineMs: opts.defaultDeadlineMs ?? 10_000,
      retries: opts.retries ?? 3,
      initialBackoffMs: opts.initialBackoffMs ?? 100,
      maxBackoffMs: opts.maxBackoffMs ?? 2000,
      keepaliveTimeMs: opts.keepaliveTimeMs ?? 30_000,
      chunkConcurrency: opts.chunkConcurrency ?? 2,
      maxRequestItems: opts.maxRequestItems,
    };
    const channel: grpc.ChannelOptions = {
      'grpc.keepalive_time_ms': this.o.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': 10_000,
      // After a restart or a max-connection-age GOAWAY, reconnect fast rather than after grpc's default 1 s.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 5_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      // With a dns:/// target that resolves to several pods, spread calls over all of them.
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      ...opts.channelOptions,
    };
    const creds = grpc.credentials.createInsecure();
    this.client = new (loadEmbedderProto().imagesearch.embedder.v1.Embedder)(this.o.address, creds, channel);
    this.healthClient = new (loadHealthProto().grpc.health.v1.Health)(this.o.address, creds, channel);
  }

  /** Embeds texts; results come back in input order, one per text. */
  async embedTexts(texts: string[], opts: CallOptions = {}): Promise<EmbedItemResult[]> {
    if (texts.length === 0) return [];
    const deadline = Date.now() + (opts.deadlineMs ?? this.o.defaultDeadlineMs);
    const limits = await this.limits(deadline, opts.signal);
    return this.chunked(
      texts,
      limits,
      (t) => Buffer.byteLength(t) + 8,
      (chunk) => this.call('EmbedTexts', { texts: chunk }, deadline, opts.signal),
    );
  }

  /** Embeds encoded image files; results come back in input order, one per image. */
  async embedImages(images: { data: Uint8Array; id?: string }[], opts: CallOptions = {}): Promise<EmbedItemResult[]> {
    if (images.length === 0) return [];
    const deadline = Date.now() + (opts.deadlineMs ?? this.o.defaultDeadlineMs);
    const limits = await this.limits(deadline, opts.signal);
    return this.chunked(
      images,
      limits,
      (img) => img.data.byteLength + (img.id?.length ?? 0) + 16,
      (chunk) =>
        this.call(
          'EmbedImages',
          { images: chunk.map((i) => ({ data: i.data, id: i.id ?? '' })) },
          deadline,
          opts.signal,
        ),
    );
  }

  /** The server's model and limits (not cached; `limits` caches its own copy). */
  async info(opts: CallOptions = {}): Promise<EmbedderInfo> {
    const deadline = Date.now() + (opts.deadlineMs ?? this.o.defaultDeadlineMs);
    return toInfo(await this.call<InfoResponse__Output>('Info', {}, deadline, opts.signal));
  }

  /** grpc.health.v1 check of the Embedder service: true when SERVING, false otherwise or when unreachable. */
  isServing(opts: CallOptions = {}): Promise<boolean> {
    const deadline = Date.now() + (opts.deadlineMs ?? Math.min(this.o.defaultDeadlineMs, 2000));
    return new Promise((resolve) => {
      this.healthClient.check({ service: EMBEDDER_SERVICE_NAME }, this.metadata(), { deadline }, (err, res) =>
        resolve(!err && res?.status === 'SERVING'),
      );
    });
  }

  /** Closes the channels. */
  close(): void {
    this.client.close();
    this.healthClient.close();
  }

  private async limits(deadline: number, signal: AbortSignal | undefined): Promise<Limits> {
    if (this.o.maxRequestItems !== undefined)
      return { maxItems: this.o.maxRequestItems, maxBytes: 4 * 1024 * 1024 - FRAMING_BYTES };
    if (!this.infoCache) {
      const pending = this.call<InfoResponse__Output>('Info', {}, deadline, signal).then(toInfo);
      this.infoCache = pending;
      pending.catch(() => {
        if (this.infoCache === pending) this.infoCache = undefined;
      });
    }
    const info = await this.infoCache;
    return {
      maxItems: Math.max(1, info.maxRequestItems),
      maxBytes: (info.maxMessageBytes ?? 4 * 1024 * 1024) - FRAMING_BYTES,
    };
  }

  private async chunked<T>(
    items: T[],
    limits: Limits,
    size: (item: T) => number,
    send: (chunk: T[]) => Promise<EmbedResponse__Output>,
  ): Promise<EmbedItemResult[]> {
    const chunks = chunkItems(items, limits.maxItems, limits.maxBytes, size);
    const results: EmbedItemResult[][] = new Array(chunks.length);
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const i = next++;
        const chunk = chunks[i]!;
        results[i] = decode(await send(chunk), chunk.length, this.o.address);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.chunkConcurrency, chunks.length) }, worker));
    return results.flat();
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    const id = currentCorrelationId();
    if (id) md.set(CORRELATION_HEADER, id);
    return md;
  }

  /** One logical call: attempts until success, a non-retryable status, the retry budget or the deadline. */
  private async call<R>(
    method: Method,
    request: object,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt<R>(method, request, deadline, signal);
      } catch (err) {
        const e = err as GrpcError;
        const delay = backoffDelayMs(attempt, this.o.initialBackoffMs, this.o.maxBackoffMs);
        const retryable =
          e.code === GrpcCode.UNAVAILABLE &&
          attempt < this.o.retries &&
          Date.now() + delay < deadline &&
          !signal?.aborted;
        if (!retryable) {
          if (e.code === GrpcCode.INVALID_ARGUMENT) this.infoCache = undefined; // the server's limits may have changed
          throw this.toAppError(method, e, attempt + 1);
        }
        await sleep(delay, signal).catch(() => undefined);
      }
    }
  }

  private attempt<R>(method: Method, request: object, deadline: number, signal: AbortSignal | undefined): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (signal?.aborted) {
        reject(
          Object.assign(new Error('aborted by the caller'), {
            code: GrpcCode.CANCELLED,
            details: 'aborted by the caller',
          }),
        );
        return;
      }
      const fn = this.client[method].bind(this.client) as unknown as (
        req: object,
        md: grpc.Metadata,
        o: grpc.CallOptions,
        cb: (err: GrpcError | null, res?: R) => void,
      ) => grpc.ClientUnaryCall;
      const onAbort = () => call.cancel();
      const call = fn(request, this.metadata(), { deadline }, (err, res) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res as R);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private toAppError(method: Method, err: GrpcError, attempts: number): AppError {
    if (typeof err.code !== 'number')
      return new AppError('INTERNAL', `embedder ${this.o.address} ${method}: ${String(err.message)}`, { cause: err });
    const code = fromGrpcCode(err.code);
    const hint =
      code === 'UNAVAILABLE'
        ? ` (after ${attempts} attempt${attempts > 1 ? 's' : ''}; is the embedder running and SERVING?)`
        : '';
    return new AppError(code, `embedder ${this.o.address} ${method}: ${err.details || err.message}${hint}`, {
      details: { grpc_code: err.code, address: this.o.address, method, attempts },
      cause: err,
    });
  }
}

function decode(res: EmbedResponse__Output, expected: number, address: string): EmbedItemResult[] {
  if (res.results.length !== expected)
    throw new AppError('INTERNAL', `embedder ${address} answered ${res.results.length} results for ${expected} items`);
  return res.results.map((r): EmbedItemResult => {
    if (r.result === 'embedding' && r.embedding) {
      if (r.embedding.byteLength % 4 !== 0 || (res.dim > 0 && r.embedding.byteLength !== res.dim * 4)) {
        return {
          ok: false,
          reason: 'INFERENCE_FAILED',
          message: `embedding has ${r.embedding.byteLength} bytes, expected ${res.dim} float32 values`,
        };
      }
      // Copy: the Buffer may sit at an offset that is not a multiple of 4 inside a shared pool.
      const bytes = new Uint8Array(r.embedding.byteLength);
      bytes.set(r.embedding);
      return { ok: true, vector: new Float32Array(bytes.buffer) };
    }
    const reason = r.error?.reason ?? 'UNSPECIFIED';
    return {
      ok: false,
      reason: (REASONS.has(reason) ? reason : 'UNSPECIFIED') as Extract<EmbedItemResult, { ok: false }>['reason'],
      message: r.error?.message ?? 'no result for this item',
    };
  });
}

function toInfo(r: InfoResponse__Output): EmbedderInfo {
  return {
    modelId: r.modelId,
    family: r.family === 'siglip' ? 'siglip' : 'clip',
    embeddingDim: r.embeddingDim,
    normalized: r.normalized,
    contextLength: r.contextLength,
    imageSize: r.imageSize,
    executionProvider: r.executionProvider,
    maxBatchSize: r.maxBatchSize,
    maxBatchWaitMs: r.maxBatchWaitMs,
    maxRequestItems: r.maxRequestItems,
    maxImageBytes: Number(r.maxImageBytes),
    maxImagePixels: Number(r.maxImagePixels),
    variant: r.variant,
    layout: r.layout,
    queueCapacity: r.queueCapacity,
    ...(Number(r.maxMessageBytes) > 0 ? { maxMessageBytes: Number(r.maxMessageBytes) } : {}),
    ...(r.maxTextChars > 0 ? { maxTextChars: r.maxTextChars } : {}),
    modelDir: r.modelDir,
    ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}),
    // proto3 defaults: an older server sends no towers and idle_unload_s 0, so both stay absent there.
    ...(r.towers.length > 0 ? { towers: r.towers.flatMap(toTower), idleUnloadS: r.idleUnloadS } : {}),
  };
}

const TOWER_STATES: ReadonlySet<string> = new Set(['loaded', 'unloaded', 'loading']);

function toTower(t: InfoResponse__Output['towers'][number]): TowerInfo[] {
  if (t.tower !== 'image' && t.tower !== 'text') return []; // a tower this client does not know
  const lastUsed = Number(t.lastUsedUnixMs);
  return [
    {
      tower: t.tower,
      state: TOWER_STATES.has(t.state) ? (t.state as TowerState) : 'unknown',
      ...(lastUsed > 0 ? { lastUsedAt: lastUsed } : {}),
    },
  ];
}
