import { AppError } from '@image-search/service-kit';
import { ItemFailure } from '@image-search/embedding';

/** The outcome of one submitted item. `dropped` items never reached inference (deadline passed, call cancelled). */
export type ItemOutcome =
  { ok: true; vector: Float32Array } | { ok: false; failure: ItemFailure } | { ok: false; dropped: true };

/** Hooks for metrics; all optional. */
export interface BatcherObserver {
  onBatch?(size: number, seconds: number): void;
  onDropped?(count: number): void;
  onQueueDepth?(depth: number): void;
}

/** Settings of one batcher (one per model tower). */
export interface BatcherOptions<T> {
  name: string;
  maxBatch: number;
  /** How long the oldest ready item may wait for companions while the tower is idle. */
  maxWaitMs: number;
  /** Items accepted but not yet in a running batch (preparing or ready) before new calls are refused. */
  capacity: number;
  /** Runs one batch; returns one vector per input, in order. */
  run(inputs: T[]): Promise<Float32Array[]>;
  observer?: BatcherObserver;
}

interface Ready<T> {
  input: T;
  alive: () => boolean;
  readyAt: number;
  resolve: (o: ItemOutcome) => void;
}

/**
 * Dynamic batching for one model tower. Items are prepared (decoded, tokenized) concurrently as they arrive, and become
 * ready when preparation finishes; ready items are run together, up to `maxBatch` per inference, one inference at a
 * time. While the tower is busy, ready items pile up and form the next batch; after a batch, a batch that is not full
 * waits at most `maxWaitMs` for companions; on an idle tower, ready items run at once. Written here because no
 * maintained npm library does per-item outcomes, deadline dropping and a bounded queue together (dataloader batches by
 * tick only).
 */
export class DynamicBatcher<T> {
  private readonly ready: Ready<T>[] = [];
  private pending = 0;
  private running = false;
  /** When the tower last became free (0: never busy). */
  private freedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: BatcherOptions<T>) {}

  /** Items accepted and not yet inside a running batch. */
  get depth(): number {
    return this.pending;
  }

  /** True when nothing is queued, preparing or running. */
  get idle(): boolean {
    return this.pending === 0 && !this.running;
  }

  /**
   * Submits the items of one call. Each item is a promise of its prepared input; a rejection
   * with ItemFailure becomes that item's failure. Throws RESOURCE_EXHAUSTED (nothing accepted)
   * when the queue cannot hold all of them.
   */
  submit(prepared: (() => Promise<T>)[], alive: () => boolean): Promise<ItemOutcome[]> {
    if (this.pending + prepared.length > this.opts.capacity) {
      throw new AppError(
        'RESOURCE_EXHAUSTED',
        `${this.opts.name} queue is full (${this.pending} of ${this.opts.capacity} items queued, ${prepared.length} more asked); retry with backoff or on another replica`,
        {
          details: { queued: this.pending, capacity: this.opts.capacity },
        },
      );
    }
    this.pending += prepared.length;
    this.opts.observer?.onQueueDepth?.(this.pending);
    return Promise.all(
      prepared.map(
        (prepare) =>
          new Promise<ItemOutcome>((resolve) => {
            Promise.resolve()
              .then(prepare)
              .then(
                (input) => {
                  this.ready.push({ input, alive, readyAt: Date.now(), resolve });
                  this.schedule();
                },
                (err: unknown) => {
                  this.release(1);
                  resolve({
                    ok: false,
                    failure:
                      err instanceof ItemFailure
                        ? err
                        : // Not classified: its text may be libvips' process-wide buffer, another image's.
                          new ItemFailure('CORRUPT_IMAGE'),
                  });
                },
              );
          }),
      ),
    );
  }

  /** Resolves once nothing is queued, preparing or running (for graceful shutdown). */
  drained(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(n: number): void {
    this.pending -= n;
    this.opts.observer?.onQueueDepth?.(this.pending);
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (!this.idle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private schedule(): void {
    if (this.running || this.ready.length === 0) return;
    if (this.ready.length >= this.opts.maxBatch) {
      this.clearTimers();
      void this.dispatch();
      return;
    }
    if (this.timer || this.immediate) return;
    // The wait counts from the moment the tower became free: right after a batch, the callers it
    // just answered are sending their next items, and a short wait lets them join instead of
    // leaving a half-empty batch. A tower idle for longer than that runs what is ready at once,
    // so a lone query never pays the wait.
    const wait = this.opts.maxWaitMs - (Date.now() - this.freedAt);
    const fire = () => {
      this.timer = undefined;
      this.immediate = undefined;
      void this.dispatch();
    };
    // setImmediate still collects everything that became ready in the same event-loop turn.
    if (wait <= 0) this.immediate = setImmediate(fire);
    else this.timer = setTimeout(fire, wait);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private async dispatch(): Promise<void> {
    if (this.running || this.ready.length === 0) return;
    const taken = this.ready.splice(0, this.opts.maxBatch);
    const batch = taken.filter((r) => r.alive());
    const dropped = taken.length - batch.length;
    if (dropped > 0) {
      for (const r of taken) if (!batch.includes(r)) r.resolve({ ok: false, dropped: true });
      this.opts.observer?.onDropped?.(dropped);
    }
    if (batch.length === 0) {
      this.release(taken.length);
      this.schedule();
      return;
    }
    this.running = true;
    // Items inside a running batch no longer count against the queue capacity.
    this.release(taken.length);
    const started = performance.now();
    try {
      const outcomes = await this.runIsolating(batch.map((r) => r.input));
      this.opts.observer?.onBatch?.(batch.length, (performance.now() - started) / 1000);
      batch.forEach((r, i) => r.resolve(outcomes[i]!));
    } finally {
      this.running = false;
      this.freedAt = Date.now();
      this.notifyIdle();
      this.schedule();
    }
  }

  /** Runs a batch; if the whole batch fails, runs its items one by one so one bad item cannot sink the others. */
  private async runIsolating(inputs: T[]): Promise<ItemOutcome[]> {
    try {
      const vectors = await this.opts.run(inputs);
      return vectors.map((vector) => ({ ok: true, vector }));
    } catch (batchErr) {
      if (inputs.length === 1) return [{ ok: false, failure: toInferenceFailure(batchErr) }];
      const out: ItemOutcome[] = [];
      for (const input of inputs) {
        try {
          const [vector] = await this.opts.run([input]);
          out.push({ ok: true, vector: vector! });
        } catch (err) {
          out.push({ ok: false, failure: toInferenceFailure(err) });
        }
      }
      return out;
    }
  }
}

function toInferenceFailure(err: unknown): ItemFailure {
  return err instanceof ItemFailure ? err : new ItemFailure('INFERENCE_FAILED', undefined, err);
}
