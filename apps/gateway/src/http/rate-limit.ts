import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit as expressRateLimit, type Options } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { AppError, type Logger } from '@image-search/service-kit';
import { requestIdentity } from './identity.js';

/**
 * Who a request is counted against: the authenticated identity (requestIdentity, set by the auth
 * middleware that runs before every /api route), else the client address (`req.ip`, which honours
 * TRUST_PROXY; IPv6 grouped by /56 so one host cannot rotate through its prefix).
 */
export function rateLimitKey(req: Request): string {
  const who = requestIdentity(req);
  if (who) return `user:${who.id}`;
  return `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;
}

/** Where the counters live: Redis (shared by every gateway replica) or, without one, this process. */
export interface RateLimitStore {
  redis: Redis;
  /** Key prefix (QUEUE_PREFIX), so installations sharing one Redis do not share counters. */
  prefix: string;
}

/** Options of one named limit. */
export interface RateLimitOptions {
  /** The policy name in the RateLimit headers and the metric label (search, upload, ingest). */
  name: string;
  /** Requests per client per minute; 0 disables the limit. */
  perMinute: number;
  store?: RateLimitStore | undefined;
  logger?: Logger | undefined;
  key?: (req: Request) => string;
  onLimited?: (name: string) => void;
  /** Called when Redis cannot answer; the request is then let through (fail open). */
  onStoreError?: (name: string) => void;
}

/**
 * A per-client limit over a one-minute window, counted in Redis so N replicas allow the limit once,
 * not N times (express-rate-limit with rate-limit-redis). Answers 429 with the IETF `RateLimit` /
 * `RateLimit-Policy` headers (draft 8) and `Retry-After`. When Redis is down the request passes
 * (fail open): the limits protect a photo server from a greedy client, they are not access control,
 * and a Redis blip must not turn every search into an error. Each such pass is counted and logged.
 */
export function rateLimit(opts: RateLimitOptions): RequestHandler {
  if (opts.perMinute <= 0) return (_req, _res, next) => next();
  const log = opts.logger;
  let lastStoreWarning = 0;
  const options: Partial<Options> = {
    windowMs: 60_000,
    limit: opts.perMinute,
    identifier: opts.name,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: opts.key ?? rateLimitKey,
    passOnStoreError: true,
    // Our keyGenerator already applies ipKeyGenerator; the check only recognises it when inlined.
    validate: { keyGeneratorIpFallback: false },
    handler: (req, _res, next) => {
      opts.onLimited?.(opts.name);
      const info = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit;
      const waitS = Math.max(1, Math.ceil(((info?.resetTime?.getTime() ?? Date.now() + 60_000) - Date.now()) / 1000));
      next(
        new AppError(
          'RATE_LIMITED',
          `rate limit for ${opts.name} exceeded (${opts.perMinute}/min per client); retry in ${waitS} s`,
          { retryAfterS: waitS, details: { limit_per_min: opts.perMinute, policy: opts.name } },
        ),
      );
    },
    logger: {
      warn: (err: unknown) => log?.warn({ err: messageOf(err) }, `rate limit ${opts.name}: ${messageOf(err)}`),
      error: (err: unknown, msg?: unknown) => {
        if (typeof msg === 'string' && msg.includes('error from store')) {
          opts.onStoreError?.(opts.name);
          // One line per 10 s, not one per request, while Redis is away.
          if (Date.now() - lastStoreWarning < 10_000) return;
          lastStoreWarning = Date.now();
          log?.warn(
            { err: messageOf(err), limit: opts.name },
            'rate limit store (Redis) unreachable: letting requests through unlimited until it is back',
          );
          return;
        }
        log?.error({ err: messageOf(err) }, `rate limit ${opts.name}: ${messageOf(err)}`);
      },
    },
  };
  if (opts.store) options.store = redisStore(opts.store, opts.name);
  return expressRateLimit(options);
}

function redisStore(store: RateLimitStore, name: string): RedisStore {
  return new RedisStore({
    prefix: `${store.prefix}:ratelimit:${name}:`,
    sendCommand: async (command: string, ...args: string[]) => {
      try {
        return (await store.redis.call(command, ...args)) as RedisReply;
      } catch (err) {
        // rate-limit-redis loads its scripts once, at start, and keeps the rejected promise forever
        // if Redis was down then (every later request would fail open). The SHA of SCRIPT LOAD is the
        // SHA-1 of the script, so we answer it ourselves; EVALSHA then meets NOSCRIPT and reloads.
        if (command.toUpperCase() === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD' && args[1] !== undefined)
          return createHash('sha1').update(args[1]).digest('hex');
        throw err;
      }
    },
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
