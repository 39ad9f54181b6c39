import { createHash } from 'node:crypto';

/** Number of rollout buckets; a bucket is an integer in [0, BUCKETS). */
export const BUCKETS = 100;

const DIGITS = /^[+-]?\d+$/;

/**
 * Non-negative remainder: ((n % 100) + 100) % 100. JavaScript's `%` keeps the sign of the
 * dividend (-7 % 100 === -7), so a plain `%` would put negative ids in negative buckets.
 */
function nonNegativeMod(n: bigint): number {
  const m = BigInt(BUCKETS);
  return Number(((n % m) + m) % m);
}

/** Stable hash of any string to a bucket: the first 4 bytes of sha256, mod 100. */
export function hashBucket(id: string): number {
  const digest = createHash('sha256').update(id, 'utf8').digest();
  return digest.readUInt32BE(0) % BUCKETS;
}

/**
 * The bucket of an identifier (a user id or an anonymous session id).
 * - An integer (a JS number, a bigint or a string of digits with an optional sign) goes to
 *   `id mod 100`, computed exactly with BigInt and non-negative (-7 → 93), so ids beyond 2^53
 *   given as digit strings are exact (`"9007199254740993"` → 93).
 * - Anything else (UUIDs, e-mails, fractions) goes to a stable sha256 hash mod 100; never throws.
 */
export function bucketOf(id: string | number | bigint): number {
  if (typeof id === 'bigint') return nonNegativeMod(id);
  if (typeof id === 'number') {
    // A double that is an integer is exact as stored even beyond 2^53 (BigInt(n) is exact).
    if (Number.isInteger(id)) return nonNegativeMod(BigInt(id));
    return hashBucket(String(id));
  }
  const s = id.trim();
  if (DIGITS.test(s)) return nonNegativeMod(BigInt(s));
  return hashBucket(s);
}
