import { UnrecoverableError, type BackoffStrategy } from 'bullmq';

/** Name of the custom BullMQ backoff type registered by `createCatalogueWorker`. */
export const JITTER_BACKOFF = 'exp-jitter';

/** Tunables of the exponential backoff with jitter. */
export interface BackoffSettings {
  /** First delay in ms (before jitter). */
  baseMs: number;
  /** Largest delay in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 1000, capMs: 30_000 };

/**
 * Exponential backoff with "equal jitter": half the exponential delay is fixed, half random,
 * so replicas that failed together do not retry in lock-step, and no retry is immediate.
 */
export function backoffDelay(
  attempt: number,
  settings: BackoffSettings = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exp = Math.min(settings.capMs, settings.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** The BullMQ backoff strategy (worker `settings.backoffStrategy`); unrecoverable errors never retry. */
export function jitterBackoffStrategy(settings: BackoffSettings = DEFAULT_BACKOFF): BackoffStrategy {
  return (attemptsMade, type, err) => {
    if (err instanceof UnrecoverableError) return -1;
    if (type !== JITTER_BACKOFF) return 0;
    return backoffDelay(attemptsMade, settings);
  };
}

/** Sleeps `ms`, resolving early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
