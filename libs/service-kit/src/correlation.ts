import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

const store = new AsyncLocalStorage<{ correlationId: string }>();

/** HTTP header and gRPC metadata key that carry the correlation id between services. */
export const CORRELATION_HEADER = 'x-correlation-id';

/** Runs `fn` with a correlation id visible to the logger and to outgoing calls. */
export function withCorrelationId<T>(id: string | undefined, fn: () => T): T {
  return store.run({ correlationId: sanitizeCorrelationId(id) ?? randomUUID() }, fn);
}

/** The correlation id of the current async context, if any. */
export function currentCorrelationId(): string | undefined {
  return store.getStore()?.correlationId;
}

/** Accepts a client-supplied id only if it is short and plain, so logs cannot be forged. */
export function sanitizeCorrelationId(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  return /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : undefined;
}
