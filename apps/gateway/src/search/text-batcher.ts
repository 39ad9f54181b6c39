import { AppError } from '@image-search/service-kit';
import type { CallOptions, EmbedderApi, EmbedderInfo, EmbedItemResult } from '@image-search/embedder-client';

interface Waiter {
  text: string;
  resolve: (r: EmbedItemResult) => void;
  reject: (err: unknown) => void;
  deadlineMs: number | undefined;
}

/**
 * An embedder client whose one-text calls (search queries) are coalesced into multi-text EmbedTexts calls:
 * each RPC costs both processes a fixed share (gRPC framing, a model run) whatever its size, so under load
 * the queries of many requests share one. At most `maxInFlight` coalesced calls run at once; queries that
 * arrive meanwhile go together in the next one, so an idle gateway sends a query at once. Each caller gets
 * its own item's result (a per-item failure stays its own); a whole-call failure reaches every caller of
 * that call. A caller's abort rejects that caller only (the shared call finishes for the others).
 * Everything else (image calls, multi-text calls, info, health) goes straight to the client.
 */
export class TextBatcher implements EmbedderApi {
  private pending: Waiter[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly client: EmbedderApi,
    private readonly opts: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  embedTexts(texts: string[], opts: CallOptions = {}): Promise<EmbedItemResult[]> {
    if (texts.length !== 1) return this.client.embedTexts(texts, opts);
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise<EmbedItemResult[]>((resolve, reject) => {
      const onAbort = () => reject(aborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.push({
        text: texts[0]!,
        deadlineMs: opts.deadlineMs,
        resolve: (r) => {
          done();
          resolve([r]);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      if (this.pending.length >= (this.opts.maxBatch ?? 32)) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          if (this.inFlight < (this.opts.maxInFlight ?? 2)) this.flush();
        });
      }
    });
  }

  embedImages(images: { data: Uint8Array; id?: string }[], opts?: CallOptions): Promise<EmbedItemResult[]> {
    return this.client.embedImages(images, opts);
  }

  info(opts?: CallOptions): Promise<EmbedderInfo> {
    return this.client.info(opts);
  }

  isServing(opts?: CallOptions): Promise<boolean> {
    return this.client.isServing(opts);
  }

  close(): void {
    this.client.close();
  }

  private flush(): void {
    const batch = this.pending.splice(0, this.opts.maxBatch ?? 32);
    if (batch.length === 0) return;
    this.inFlight++;
    // The shortest deadline of the batch, so no caller waits past its own.
    const deadlines = batch.flatMap((w) => (w.deadlineMs === undefined ? [] : [w.deadlineMs]));
    const deadlineMs = deadlines.length ? Math.min(...deadlines) : undefined;
    this.client
      .embedTexts(
        batch.map((w) => w.text),
        deadlineMs === undefined ? {} : { deadlineMs },
      )
      .then(
        (results) => {
          batch.forEach((w, i) => {
            const r = results[i];
            if (r) w.resolve(r);
            else w.reject(new AppError('INTERNAL', `embedder answered ${results.length} items for ${batch.length}`));
          });
        },
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight--;
        // What arrived while this call ran goes next.
        if (this.pending.length && this.inFlight < (this.opts.maxInFlight ?? 2)) this.flush();
      });
  }
}

function aborted(): AppError {
  return new AppError('CANCELLED', 'the client went away before the query was embedded');
}
