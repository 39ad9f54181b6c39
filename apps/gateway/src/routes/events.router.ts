import express, { type Router } from 'express';
import { z } from 'zod';
import { AppError, isAppError } from '@image-search/service-kit';
import type { GatewayDeps } from '../app.types.js';
import { validate } from '../http/validate.js';
import { assetIdSchema } from './params.js';

/** Body of POST /api/v1/events: what the user did with the result at `rank` of the search `search_id`. */
export const eventBodySchema = z
  .object({
    search_id: z.string().min(1).max(2048).describe('The search_id of the search response the result came from'),
    type: z.enum(['click', 'open', 'download']),
    asset_id: assetIdSchema,
    rank: z.int().min(1).max(200).describe('1-based position of the result in that response'),
  })
  .strict();

/** POST /events (search scope; rate-limited per client). */
export function eventsRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  const tracking = deps.tracking;
  r.post('/events', deps.limits.events ?? deps.limits.search, express.json({ limit: '4kb' }), async (req, res) => {
    const body = validate(eventBodySchema, req.body);
    if (!tracking) throw new AppError('UNAVAILABLE', 'events are not recorded by this gateway', { retryAfterS: 60 });
    const claims = tracking.ids.parse(body.search_id);
    if (body.rank > claims.n)
      throw new AppError(
        'INVALID_ARGUMENT',
        `rank: that search returned ${claims.n} result(s); got rank ${body.rank}`,
        {
          details: { field: 'rank' },
        },
      );
    let first: boolean;
    try {
      ({ first } = await tracking.online.recordEvent(claims, body.search_id, body.type, body.rank));
    } catch (err) {
      if (isAppError(err)) throw err;
      throw new AppError('UNAVAILABLE', `events store (Redis) unavailable: ${(err as Error).message}`, {
        retryAfterS: 5,
        cause: err,
      });
    }
    deps.metrics.events?.inc({ type: body.type, model: claims.model });
    res.status(202).json({ accepted: true, first_for_search: first, model: claims.model });
  });
  return r;
}
