import type { IdSetDifference } from './vector-store.port.js';

/** Point ids (UUIDs we generate) as a SQL list; they hold only hex digits and dashes. */
export function sqlIdList(ids: string[]): string {
  return ids.map((id) => `'${id.replace(/[^0-9a-f-]/g, '')}'`).join(', ');
}

/** Lance reports a lost optimistic-concurrency race between two writers this way; the write can be retried. */
export function isCommitConflict(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /commit conflict|conflict|Retryable|concurrent/i.test(msg);
}

/** Retries `fn` while `retryable(err)`, with exponential backoff and full jitter. */
export async function retry<T>(
  fn: () => Promise<T>,
  retryable: (err: unknown) => boolean,
  attempts = 8,
  baseMs = 20,
  maxMs = 2_000,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !retryable(err)) throw err;
      const cap = Math.min(maxMs, baseMs * 2 ** (i - 1));
      await new Promise((r) => setTimeout(r, Math.random() * cap));
    }
  }
}

/** The difference of two id lists: what `a` has that `b` lacks and vice versa. */
export function diffIdSets(a: Iterable<string>, b: Iterable<string>, sampleLimit?: number): IdSetDifference {
  const sa = new Set(a);
  const sb = new Set(b);
  const missing: string[] = [];
  const extra: string[] = [];
  let missingCount = 0;
  let extraCount = 0;
  const cap = sampleLimit ?? Infinity;
  for (const id of sa) {
    if (!sb.has(id)) {
      missingCount++;
      if (missing.length < cap) missing.push(id);
    }
  }
  for (const id of sb) {
    if (!sa.has(id)) {
      extraCount++;
      if (extra.length < cap) extra.push(id);
    }
  }
  return { missing, missingCount, extra, extraCount };
}
