import express, { type Router } from 'express';
import { z } from 'zod';
import { AppError } from '@image-search/service-kit';
import type { GatewayDeps } from '../app.types.js';
import { requireScope } from '../http/auth.middleware.js';
import { validate } from '../http/validate.js';
import { assetIdParamsSchema, ingestIdParamsSchema, intParam, queryOf } from './params.js';

/** Query of GET /api/v1/assets/ingest/:id/failures. */
export const failuresQuerySchema = z
  .object({
    offset: intParam(0, 0, Number.MAX_SAFE_INTEGER),
    limit: intParam(100, 1, 1000),
  })
  .strict();

/** DELETE /assets/:id (admin) and GET /assets/ingest/:id/failures (admin): the library's changes. */
export function libraryRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  const admin = requireScope('admin', deps.auth);

  r.delete('/assets/:asset_id', admin, async (req, res) => {
    const id = validate(assetIdParamsSchema, req.params, 'params').asset_id;
    if (!(await deps.remover.exists(id)))
      throw new AppError('NOT_FOUND', `no asset with id ${id} (already deleted, or never ingested)`, {
        details: { field: 'asset_id' },
      });
    await deps.remover.remove([id]);
    res.json({ asset_id: id, deleted: true });
  });

  r.get('/assets/ingest/:ingest_id/failures', admin, async (req, res) => {
    const id = validate(ingestIdParamsSchema, req.params, 'params').ingest_id;
    const q = validate(failuresQuerySchema, queryOf(req), 'query');
    res.json(deps.paths.redactDeep(await deps.ingest.problems(id, q.offset, q.limit)));
  });
  return r;
}
