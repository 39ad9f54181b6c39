import { isAppError } from '@image-search/service-kit';
import { backoffDelay, sleep } from '@image-search/jobs';

/** Settings of the pacer. */
export interface PacerOptions {
  /** Most embed requests in flight. */
  maxInflight: number;
  /** Images per second at most (0 = unlimited). */
  ratePerS: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  onLimitChange?: (limit: number) => void;
  onThrottled?: (waitMs: number) => void;
}

/**
 * Paces calls to the embedder: a rate limit in images per second and an adaptive cap on
 * requests in flight (AIMD: halve on RESOURCE_EXHAUSTED, +1 after a run of successes).
 * RESOURCE_EXHAUSTED means "slow down", so the call waits and is retried here instead of
 * failing the batch. Written here because BullMQ's limiter counts jobs, not images, and
 * cannot react to the embedder's back-pressure.
 */
export class EmbedPacer {
  private limit: number;
  private inflight = 0;
  private successes = 0;
  private throttledInARow = 0;
  private nextFreeAt = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly o: PacerOptions) {
    this.limit = o.maxInflight;
  }

  /** Current cap on requests in flight. */
  get currentLimit(): number {
    return this.limit;
  }

  /** Runs `call` for `items` images once rate and capacity allow; retries it on RESOURCE_EXHAUSTED. */
  async run<T>(items: number, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      await this.takeRate(items, signal);
      await this.acquire();
      try {
        const result = await call();
        this.onSuccess();
        return result;
      } catch (err) {
        if (!isAppError(err, 'RESOURCE_EXHAUSTED') || signal?.aborted) throw err;
        const wait = Math.max(
          backoffDelay(++this.throttledInARow, {
            baseMs: this.o.backoffBaseMs ?? 200,
            capMs: this.o.backoffCapMs ?? 10_000,
          }),
          (err.retryAfterS ?? 0) * 1000,
        );
        this.setLimit(Math.max(1, Math.floor(this.limit / 2)));
        this.o.onThrottled?.(wait);
        await sleep(wait, signal);
      } finally {
        this.release();
      }
    }
  }

  private onSuccess(): void {
    this.throttledInARow = 0;
    if (this.limit < this.o.maxInflight && ++this.successes >= this.limit) {
      this.successes = 0;
      this.setLimit(this.limit + 1);
    }
  }

  private setLimit(n: number): void {
    if (n === this.limit) return;
    this.limit = n;
    this.o.onLimitChange?.(n);
    this.wake();
  }

  private async acquire(): Promise<void> {
    while (this.inflight >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.inflight++;
  }

  private release(): void {
    this.inflight--;
    this.wake();
  }

  // Every waiter re-checks the cap in acquire(), so waking all of them is safe and simple.
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  // A virtual schedule (GCRA): each call books items/rate seconds after the previous booking.
  private async takeRate(items: number, signal?: AbortSignal): Promise<void> {
    if (this.o.ratePerS <= 0) return;
    const now = Date.now();
    const start = Math.max(now, this.nextFreeAt);
    this.nextFreeAt = start + (items / this.o.ratePerS) * 1000;
    if (start > now) await sleep(start - now, signal);
  }
}
