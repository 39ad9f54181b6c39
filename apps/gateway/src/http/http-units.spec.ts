import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { AppError } from '@image-search/service-kit';
import { adminAuth } from './admin-auth.js';
import { rateLimit } from './rate-limit.js';

function run(
  mw: (req: Request, res: Response, next: NextFunction) => void,
  headers: Record<string, string> = {},
  ip = '1.2.3.4',
): unknown {
  let out: unknown = 'next-not-called';
  const req = { get: (h: string) => headers[h.toLowerCase()], ip, socket: {} } as unknown as Request;
  const res = { setHeader: () => undefined } as unknown as Response;
  mw(req, res, (err?: unknown) => (out = err ?? 'ok'));
  return out;
}

describe('adminAuth', () => {
  it('is disabled without a token, and checks the bearer token otherwise', () => {
    expect(run(adminAuth(undefined), { authorization: 'Bearer x' })).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(/disabled/),
    });
    const mw = adminAuth('tok');
    expect(run(mw)).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(run(mw, { authorization: 'Bearer nope' })).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(run(mw, { authorization: 'Basic tok' })).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(run(mw, { authorization: 'Bearer tok' })).toBe('ok');
  });
});

describe('rateLimit (token bucket)', () => {
  it('allows a burst of perMinute, refills continuously, and keys per client', () => {
    let now = 0;
    const mw = rateLimit({ name: 'search', perMinute: 3, now: () => now });
    expect([run(mw), run(mw), run(mw)]).toEqual(['ok', 'ok', 'ok']);
    const limited = run(mw) as AppError;
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 20 });
    expect(run(mw, {}, '5.6.7.8')).toBe('ok');
    now = 20_000;
    expect(run(mw)).toBe('ok');
    expect(run(mw)).toBeInstanceOf(AppError);
    expect(run(rateLimit({ name: 'off', perMinute: 0 }))).toBe('ok');
  });
});
