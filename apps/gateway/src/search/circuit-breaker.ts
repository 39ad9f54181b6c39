/**
 * A small circuit breaker per embedder: after `failures` consecutive failures it opens for
 * `cooldownMs`, then lets one trial call through (half-open); a success closes it.
 * Written here because the rule is a dozen lines and the router must read its state per
 * request without I/O.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    readonly name: string,
    private readonly opts: {
      failures: number;
      cooldownMs: number;
      now?: () => number;
      onStateChange?: (name: string, state: BreakerState) => void;
    },
  ) {}

  /** closed (normal), open (failing fast), half_open (one trial allowed). */
  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.opts.cooldownMs ? 'half_open' : 'open';
  }

  /** Whether a call may be made now (in half-open, only one trial at a time). */
  allows(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half_open' && !this.trialInFlight);
  }

  /** Seconds until the breaker lets a trial through. */
  retryAfterS(): number {
    if (this.openedAt === undefined) return 0;
    return Math.max(1, Math.ceil((this.opts.cooldownMs - (this.now() - this.openedAt)) / 1000));
  }

  /** Runs `fn` through the breaker: failures counted, successes reset. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const half = this.state === 'half_open';
    if (half) this.trialInFlight = true;
    try {
      const out = await fn();
      this.success();
      return out;
    } catch (err) {
      this.failure();
      throw err;
    } finally {
      if (half) this.trialInFlight = false;
    }
  }

  success(): void {
    const was = this.state;
    this.consecutive = 0;
    this.openedAt = undefined;
    if (was !== 'closed') this.opts.onStateChange?.(this.name, 'closed');
  }

  failure(): void {
    this.consecutive++;
    if (this.state === 'half_open' || this.consecutive >= this.opts.failures) {
      this.openedAt = this.now();
      this.opts.onStateChange?.(this.name, 'open');
    }
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/** One circuit breaker per registered model (by registry id), made on first use with the same settings. */
export class BreakerSet {
  private readonly byModel = new Map<string, CircuitBreaker>();

  constructor(
    private readonly opts: {
      failures: number;
      cooldownMs: number;
      onStateChange?: (name: string, state: BreakerState) => void;
    },
  ) {}

  /** The breaker of this model's embedder. */
  get(modelId: string): CircuitBreaker {
    let b = this.byModel.get(modelId);
    if (!b) {
      b = new CircuitBreaker(modelId, this.opts);
      this.byModel.set(modelId, b);
    }
    return b;
  }

  /** The state of each breaker made so far, by model id. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.byModel].map(([id, b]) => [id, b.state]));
  }
}
