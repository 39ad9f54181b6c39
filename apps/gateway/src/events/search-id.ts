import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, type Logger } from '@image-search/service-kit';

/** What a search id carries: enough to credit a later event without a per-search write to Redis. */
export interface SearchIdClaims {
  /** Registry id of the model that answered (for an interleaved list: the routed model). */
  model: string;
  /** The rollout bucket 0..99. */
  bucket: number;
  /** Results in the answer (ranks 1..n). */
  n: number;
  /** When the search was answered (ms since the epoch). */
  at: number;
  /**
   * Interleaved answers: the model ids of the two teams and, per rank, which team contributed the
   * result ('a' or 'b'); absent for ordinary answers.
   */
  teams?: { a: string; b: string; ranks: string } | undefined;
}

const b64 = (s: string) => Buffer.from(s).toString('base64url');

/**
 * Search ids signed with a secret every replica shares (kept in Redis): the claims travel in the id,
 * so an event names its search's model, bucket and result count without a Redis read, and nobody
 * can forge an id for another model or a rank that was never shown.
 */
export class SearchIds {
  constructor(
    private readonly secret: Buffer,
    /** Events for searches older than this are refused. */
    private readonly maxAgeMs: number,
  ) {}

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 22);
  }

  /** A new search id for these claims. */
  mint(c: SearchIdClaims): string {
    const body = b64(
      JSON.stringify([c.model, c.bucket, c.n, c.at, ...(c.teams ? [c.teams.a, c.teams.b, c.teams.ranks] : [])]),
    );
    return `${body}.${this.sign(body)}`;
  }

  /** The claims of a search id; INVALID_ARGUMENT naming `search_id` when it is malformed, forged or too old. */
  parse(id: string, now = Date.now()): SearchIdClaims {
    const bad = (why: string) =>
      new AppError('INVALID_ARGUMENT', `search_id: ${why}`, { details: { field: 'search_id', reason: why } });
    const [body, sig, extra] = id.split('.');
    if (!body || !sig || extra !== undefined) throw bad('not a search id returned by a search response');
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      throw bad('not a search id returned by a search response');
    let v: unknown;
    try {
      v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw bad('not a search id returned by a search response');
    }
    if (!Array.isArray(v) || (v.length !== 4 && v.length !== 7))
      throw bad('not a search id returned by a search response');
    const [model, bucket, n, at, a, b, ranks] = v as [string, number, number, number, string?, string?, string?];
    if (now - at > this.maxAgeMs) throw bad(`the search is older than ${Math.round(this.maxAgeMs / 3600_000)} h`);
    return { model, bucket, n, at, ...(a && b && ranks !== undefined ? { teams: { a, b, ranks } } : {}) };
  }
}

/**
 * The secret search ids are signed with, shared by every replica through Redis (the first replica
 * to start writes it). Without Redis at start, a secret of this process's own: its search ids are
 * then valid on this replica only, which the warning says.
 */
export async function sharedSearchIdSecret(redis: Redis, prefix: string, logger: Logger): Promise<Buffer> {
  const key = `${prefix}:events:secret`;
  try {
    await redis.set(key, randomBytes(32).toString('hex'), 'NX');
    const s = await redis.get(key);
    if (s) return Buffer.from(s, 'hex');
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      'search-id secret not shared through Redis; events only on this replica',
    );
  }
  return randomBytes(32);
}
