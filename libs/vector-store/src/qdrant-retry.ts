import {
  QdrantClientResourceExhaustedError,
  QdrantClientTimeoutError,
  QdrantClientUnexpectedResponseError,
} from '@qdrant/js-client-rest';
import { AppError } from '@image-search/service-kit';

/** Retry schedule for Qdrant calls. */
export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

/** 5 attempts over at most ~6 s: enough to ride out a Qdrant restart or a leader change. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 200, maxMs: 3_000 };

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The HTTP status of a Qdrant client error, when it has one. */
export function httpStatus(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'status' in err && typeof (err as { status: unknown }).status === 'number')
    return (err as { status: number }).status;
  if (err instanceof QdrantClientResourceExhaustedError) return 429;
  if (err instanceof QdrantClientUnexpectedResponseError) {
    const m = /Unexpected Response: (\d{3})/.exec(err.message);
    return m ? Number(m[1]) : undefined;
  }
  return undefined;
}

function connectionCode(err: unknown): string | undefined {
  for (
    let e: unknown = err, depth = 0;
    e && typeof e === 'object' && depth < 4;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
  }
  return undefined;
}

/** Timeouts, 5xx and connection errors are transient; 4xx (including 429) never are retried. */
export function isTransient(err: unknown): boolean {
  if (err instanceof QdrantClientTimeoutError) return true;
  if (err instanceof Error && err.name === 'AbortError') return true;
  const status = httpStatus(err);
  if (status !== undefined) return status >= 500;
  if (connectionCode(err)) return true;
  return err instanceof TypeError && /fetch failed/i.test(err.message);
}

/** Runs `fn`, retrying transient failures with exponential backoff and full jitter. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts || !isTransient(err)) throw err;
      const delay = Math.round(Math.random() * Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1)));
      onRetry?.(err, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function qdrantMessage(err: unknown): string {
  const data = (err as { data?: { status?: { error?: string } } }).data;
  return data?.status?.error ?? (err instanceof Error ? err.message : String(err));
}

/** Maps a Qdrant client error to an AppError that says what happened and where. */
export function toAppError(err: unknown, url: string, what: string): AppError {
  if (err instanceof AppError) return err;
  const status = httpStatus(err);
  const msg = qdrantMessage(err);
  const ctx = { cause: err, details: { url, ...(status ? { status } : {}) } };
  if (status === 404) return new AppError('NOT_FOUND', `${what}: not found in Qdrant at ${url} (${msg})`, ctx);
  if (status === 400 || status === 422)
    return new AppError('INVALID_ARGUMENT', `${what}: Qdrant rejected the request: ${msg}`, ctx);
  if (status === 401)
    return new AppError('UNAUTHENTICATED', `${what}: Qdrant at ${url} refused the API key (set QDRANT_API_KEY)`, ctx);
  if (status === 403)
    return new AppError('PERMISSION_DENIED', `${what}: the API key may not do this on Qdrant at ${url}`, ctx);
  if (status === 409) return new AppError('ALREADY_EXISTS', `${what}: ${msg}`, ctx);
  if (status === 429) {
    const retryAfterS = err instanceof QdrantClientResourceExhaustedError ? err.retry_after : undefined;
    return new AppError('RATE_LIMITED', `${what}: Qdrant at ${url} is rate limiting; retry later`, {
      ...ctx,
      ...(retryAfterS !== undefined ? { retryAfterS } : {}),
    });
  }
  if (err instanceof QdrantClientTimeoutError)
    return new AppError('DEADLINE_EXCEEDED', `${what}: Qdrant at ${url} did not answer in time`, ctx);
  return new AppError(
    'UNAVAILABLE',
    `${what}: Qdrant at ${url} is unavailable (${msg}); check QDRANT_URL and that the server is up`,
    ctx,
  );
}
