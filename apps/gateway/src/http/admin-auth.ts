import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '@image-search/service-kit';

/**
 * Bearer-token guard for admin routes. With no ADMIN_TOKEN configured the admin API is
 * disabled (403 saying so), never open. Tokens are compared as sha256 digests with
 * timingSafeEqual, so neither content nor length leaks through timing.
 */
export function adminAuth(token: string | undefined): RequestHandler {
  const expected = token ? createHash('sha256').update(token).digest() : undefined;
  return (req, _res, next) => {
    if (!expected) {
      next(
        new AppError('PERMISSION_DENIED', 'admin API is disabled: set ADMIN_TOKEN on the gateway to enable it', {
          details: { reason: 'admin_disabled' },
        }),
      );
      return;
    }
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) {
      next(
        new AppError('UNAUTHENTICATED', 'admin API needs an Authorization: Bearer <ADMIN_TOKEN> header', {
          details: { field: 'authorization' },
        }),
      );
      return;
    }
    const given = createHash('sha256').update(m[1]!.trim()).digest();
    if (!timingSafeEqual(given, expected)) {
      next(new AppError('PERMISSION_DENIED', 'admin token is wrong', { details: { field: 'authorization' } }));
      return;
    }
    next();
  };
}
