import express, { type Request, type Response, type Router } from 'express';
import multer from 'multer';
import { inspectImage, isItemFailure } from '@image-search/image-formats';
import { z } from 'zod';
import { AppError, isAppError } from '@image-search/service-kit';
import type { RolloutSubject } from '@image-search/rollout-router';
import type { SearchResponse } from '../search/search.service.js';
import type { GatewayDeps } from '../app.types.js';
import { requestIdentity } from '../http/identity.js';
import { validate } from '../http/validate.js';
import { assetIdParamsSchema, intParam, numParam, queryOf, sessionIdOf, userIdSchema } from './params.js';

/** A signal that aborts when the client closes the connection before the answer is sent. */
function clientGone(res: Response): AbortSignal {
  const ac = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac.signal;
}

const isoDate = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: 'must be an ISO 8601 date or date-time',
});

/** Search filters (all optional). */
export const filtersSchema = z
  .object({
    category: z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).min(1).max(100)]).optional(),
    date_from: isoDate.optional().describe('ISO 8601 date or date-time (date_taken ≥)'),
    date_to: isoDate.optional().describe('ISO 8601 date or date-time (date_taken ≤)'),
  })
  .strict();

/** Body of POST /api/v1/search. */
export const searchBodySchema = z
  .object({
    query: z
      .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
      .trim()
      .min(1, 'must not be empty')
      .max(1000, 'must be at most 1000 characters'),
    limit: z.number().int().min(1).max(200).default(50),
    offset: z.number().int().min(0).max(10_000).default(0),
    user_id: userIdSchema.optional(),
    filters: filtersSchema.optional(),
    min_score: z.number().min(-1).max(1).optional(),
  })
  .strict();

/** The form fields of POST /api/v1/search/image (beside the `image` file). */
export const imageFieldsSchema = z
  .object({
    limit: intParam(50, 1, 200),
    offset: intParam(0, 0, 10_000),
    user_id: z.string().trim().min(1).max(256).optional(),
    min_score: numParam(-1, 1),
    category: z.string().min(1).max(256).optional(),
  })
  .strict();

/** Query of GET /api/v1/search/similar/:asset_id. */
export const similarQuerySchema = z
  .object({
    limit: intParam(50, 1, 200),
    offset: intParam(0, 0, 10_000),
    user_id: z.string().trim().min(1).max(256).optional(),
    min_score: numParam(-1, 1),
  })
  .strict();

/**
 * The rollout subject: an explicit user_id wins (a backend may bucket its own users), else the
 * authenticated identity, so signed-in users keep one model without sending user_id; else the session.
 */
function subjectOf(req: Request, userId: string | number | undefined) {
  return { userId: userId ?? requestIdentity(req)?.id, sessionId: sessionIdOf(req) };
}

/** The codes that are the user's doing (or nobody's): not counted as search errors of a model. */
const NOT_A_MODEL_ERROR = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'CANCELLED', 'RATE_LIMITED', 'PAYLOAD_TOO_LARGE']);

/** Runs a search; a failure is counted against the model and bucket the router chose, then rethrown. */
async function failures<T>(deps: GatewayDeps, subject: RolloutSubject, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (deps.tracking && !(isAppError(err) && NOT_A_MODEL_ERROR.has(err.code))) {
      const d = deps.router.decide(subject);
      deps.tracking.recordFailure(d.model, d.bucket);
    }
    throw err;
  }
}

/** Sends an answer with its search id and counts it once sent. */
function sendTracked(deps: GatewayDeps, res: Response, out: SearchResponse): void {
  const tracking = deps.tracking;
  if (!tracking) {
    res.json(out);
    return;
  }
  res.once('finish', () => tracking.recordAnswer(out));
  res.json(tracking.track(out));
}

/** POST /search, POST /search/image, GET /search/similar/:asset_id. */
export function searchRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  const { search: searchLimit, upload: uploadLimit } = deps.limits;
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: deps.settings.maxUploadBytes, files: 1, fields: 10, fieldSize: 1024, parts: 12 },
  });

  r.post('/search', searchLimit, express.json({ limit: deps.settings.jsonBodyLimit }), async (req, res) => {
    const body = validate(searchBodySchema, req.body);
    const subject = subjectOf(req, body.user_id);
    // Shadow work waits while user searches are in flight (they go first).
    const userEnd = deps.shadow?.enabled ? deps.shadow.userBegin() : undefined;
    if (userEnd) res.once('close', userEnd);
    const out = await failures(deps, subject, () =>
      deps.search.text(body.query, {
        limit: body.limit,
        offset: body.offset,
        filters: body.filters,
        minScore: body.min_score,
        subject,
        signal: clientGone(res),
      }),
    );
    res.locals['model'] = out.model;
    const tracking = deps.tracking;
    const q = { query: body.query, limit: body.limit, filters: body.filters, minScore: body.min_score };
    const interleaved = tracking?.interleaves(out, body.offset) ? await tracking.interleave(out, q) : undefined;
    const shadow = deps.shadow;
    res.once('finish', () => {
      userEnd?.();
      tracking?.recordAnswer(out);
      // Only once the answer is out: the shadow search must never delay or fail it. An interleaved
      // answer already ran both models.
      if (shadow?.enabled && !interleaved?.interleaved)
        shadow.afterAnswer({
          ...q,
          offset: body.offset,
          collection: out.collection,
          resultIds: out.results.map((r) => r.asset.id),
          latencyMs: out.timing_ms.total,
        });
    });
    res.json(tracking ? tracking.track(interleaved ?? out) : out);
  });

  r.post('/search/image', uploadLimit, upload.single('image'), async (req, res) => {
    const fields = validate(imageFieldsSchema, { ...(req.body as object) });
    const file = req.file;
    if (!file)
      throw new AppError(
        'INVALID_ARGUMENT',
        "image: required; send multipart/form-data with the image in a field named 'image'",
        { details: { field: 'image' } },
      );
    if (file.size === 0)
      throw new AppError('INVALID_ARGUMENT', 'image: the uploaded file is empty', { details: { field: 'image' } });
    // The embedders' own header checks, so both refuse the same files with the same reason and words.
    try {
      await inspectImage(file.buffer, {
        maxBytes: deps.settings.maxUploadBytes,
        maxPixels: deps.settings.maxImagePixels,
      });
    } catch (err) {
      if (!isItemFailure(err)) throw err;
      throw new AppError('INVALID_ARGUMENT', `image: ${err.message}`, {
        details: { field: 'image', reason: err.reason },
      });
    }
    const subject = subjectOf(req, fields.user_id);
    const out = await failures(deps, subject, () =>
      deps.search.image(file.buffer, {
        limit: fields.limit,
        offset: fields.offset,
        minScore: fields.min_score,
        filters: fields.category ? { category: fields.category } : undefined,
        subject,
        signal: clientGone(res),
      }),
    );
    res.locals['model'] = out.model;
    sendTracked(deps, res, out);
  });

  r.get('/search/similar/:asset_id', searchLimit, async (req, res) => {
    const assetId = validate(assetIdParamsSchema, req.params, 'params').asset_id;
    const q = validate(similarQuerySchema, queryOf(req), 'query');
    const subject = subjectOf(req, q.user_id);
    const out = await failures(deps, subject, () =>
      deps.search.similar(assetId, { limit: q.limit, offset: q.offset, minScore: q.min_score, subject }),
    );
    res.locals['model'] = out.model;
    sendTracked(deps, res, out);
  });
  return r;
}
