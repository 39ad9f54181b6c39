import type { Request, RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';
import { AppError } from '@image-search/service-kit';

/**
 * Per-client token bucket: `perMinute` tokens refill continuously, bursts up to `perMinute`.
 * Written here (40 lines) rather than adding express-rate-limit, which is not installed and
 * whose fixed windows allow 2× bursts at window edges; clients are kept in a bounded LRU.
 */
export function rateLimit(opts: {
  name: string;
  perMinute: number;
  key?: (req: Request) => string;
  now?: () => number;
  onLimited?: (name: string) => void;
}): RequestHandler {
  if (opts.perMinute <= 0) return (_req, _res, next) => next();
  const capacity = opts.perMinute;
  const ratePerMs = opts.perMinute / 60_000;
  const now = opts.now ?? Date.now;
  const buckets = new LRUCache<string, { tokens: number; at: number }>({ max: 100_000 });
  const keyOf = opts.key ?? ((req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown');
  return (req, res, next) => {
    const key = keyOf(req);
    const t = now();
    const b = buckets.get(key) ?? { tokens: capacity, at: t };
    b.tokens = Math.min(capacity, b.tokens + (t - b.at) * ratePerMs);
    b.at = t;
    if (b.tokens < 1) {
      buckets.set(key, b);
      const waitS = Math.ceil((1 - b.tokens) / ratePerMs / 1000);
      opts.onLimited?.(opts.name);
      next(
        new AppError(
          'RATE_LIMITED',
          `rate limit for ${opts.name} exceeded (${opts.perMinute}/min per client); retry in ${waitS} s`,
          { retryAfterS: waitS, details: { limit_per_min: opts.perMinute } },
        ),
      );
      return;
    }
    b.tokens -= 1;
    buckets.set(key, b);
    res.setHeader('x-ratelimit-remaining', String(Math.floor(b.tokens)));
    next();
  };
}
