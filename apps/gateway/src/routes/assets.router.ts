import express, { type Router } from 'express';
import { z } from 'zod';
import { AppError, isAppError } from '@image-search/service-kit';
import { FINGERPRINT_KEY, MODEL_ID_KEY, type StoredPoint } from '@image-search/vector-store';
import type { GatewayDeps } from '../app.types.js';
import { requireScope } from '../http/auth.middleware.js';
import { validate } from '../http/validate.js';
import { toAssetView, type AssetView } from '../search/asset-view.js';
import { assetIdParamsSchema, ingestIdParamsSchema, intParam, queryOf } from './params.js';

/** Body of POST /api/v1/assets/ingest. */
export const ingestBodySchema = z
  .object({
    root_path: z
      .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
      .min(1, 'must not be empty')
      .max(4096)
      .describe('Absolute folder under ASSET_ROOTS (checked after resolving .. and symlinks)'),
    recursive: z.boolean().default(true),
    extensions: z
      .array(z.string().regex(/^\.?[A-Za-z0-9]{1,10}$/, 'must be file extensions like "jpg"'))
      .min(1)
      .max(50)
      .optional(),
    dry_run: z.boolean().default(false),
  })
  .strict();

/** Query of GET /api/v1/assets. */
export const listQuerySchema = z
  .object({
    limit: intParam(50, 1, 500),
    cursor: z.string().min(1).max(512).optional(),
    category: z.string().min(1).max(256).optional(),
  })
  .strict();

/** GET /assets, GET /assets/:id, POST /assets/ingest (admin), GET /assets/ingest/:id (admin). */
export function assetsRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  const admin = requireScope('admin', deps.auth);
  const ingestLimit = deps.limits.ingest;
  // The embedded store hands out one payload object per kept row (its scroll blocks): the view built from it
  // is kept as long as the row is (the asset roots are fixed for the process); other stores' payloads are new
  // each time and simply miss.
  const views = new WeakMap<object, AssetView>();
  const listView = (payload: StoredPoint['payload'], id: string): AssetView => {
    let v = views.get(payload);
    if (!v) views.set(payload, (v = toAssetView({ ...payload, asset_id: payload.asset_id ?? id }, deps.paths)));
    return v;
  };

  r.get('/assets', async (req, res) => {
    const q = validate(listQuerySchema, queryOf(req), 'query');
    const filter = q.category ? { must: [{ key: 'category', match: { value: q.category } }] } : undefined;
    const collection = deps.collections.clip;
    let page;
    try {
      // One query for the page and its payloads (no lookup by id after the scroll).
      page = await deps.store.scrollIds(collection, {
        limit: q.limit,
        withPayload: true,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(filter ? { filter } : {}),
      });
    } catch (err) {
      // A collection not created yet lists as empty (no separate existence check per request).
      if (isAppError(err, 'NOT_FOUND')) {
        res.json({ assets: [], total: 0, next_cursor: null, collection });
        return;
      }
      if (isAppError(err, 'INVALID_ARGUMENT'))
        throw new AppError('INVALID_ARGUMENT', `cursor: ${err.message}`, { details: { field: 'cursor' } });
      throw err;
    }
    const [points, total] = await Promise.all([
      page.points ?? deps.points.getOrEmpty(collection, page.assetIds),
      deps.store.count(collection, filter ? { filter } : {}),
    ]);
    const byId = new Map(points.map((p) => [p.assetId, p]));
    const assets = page.assetIds.flatMap((id) => {
      const p = byId.get(id);
      return p ? [listView(p.payload, id)] : [];
    });
    res.json({ assets, total, next_cursor: page.next ?? null, collection });
  });

  r.post(
    '/assets/ingest',
    admin,
    ingestLimit,
    express.json({ limit: deps.settings.jsonBodyLimit }),
    async (req, res) => {
      const body = validate(ingestBodySchema, req.body);
      const out = await deps.ingest.start({
        rootPath: body.root_path,
        recursive: body.recursive,
        extensions: body.extensions?.map((e) => e.replace(/^\./, '').toLowerCase()),
        dryRun: body.dry_run,
      });
      // Reports name files as <root name>/<relative path>, never the server's absolute paths.
      res.status('dry_run' in out ? 200 : 202).json(deps.paths.redactDeep(out));
    },
  );

  r.get('/assets/ingest/:ingest_id', admin, async (req, res) => {
    const id = validate(ingestIdParamsSchema, req.params, 'params').ingest_id;
    res.json(deps.paths.redactDeep(await deps.ingest.status(id)));
  });

  r.get('/assets/:asset_id', async (req, res) => {
    const id = validate(assetIdParamsSchema, req.params, 'params').asset_id;
    // Every registered model's collection; the seed pair's come first, as `collections` reports them.
    const models = deps.registry.list();
    const found = await Promise.all(models.map((m) => deps.points.getOrEmpty(m.collection, [id])));
    const at = (collection: string) => found[models.findIndex((m) => m.collection === collection)]?.[0];
    const [clip, siglip] = [at(deps.collections.clip), at(deps.collections.siglip)];
    const p = clip ?? siglip ?? found.find((f) => f.length > 0)?.[0];
    if (!p) throw new AppError('NOT_FOUND', `no asset with id ${id}`, { details: { field: 'asset_id' } });
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    res.json({
      asset: toAssetView({ ...p.payload, asset_id: p.payload.asset_id ?? id }, deps.paths),
      collections: { clip: clip !== undefined, siglip: siglip !== undefined },
      // Which model wrote each stored vector of the asset (null tags: written before vectors were tagged).
      vectors: models.flatMap((m, i) => {
        const v = found[i]?.[0];
        return v
          ? [
              {
                collection: m.collection,
                registered_model: m.id,
                model_id: text(v.payload[MODEL_ID_KEY]),
                fingerprint: text(v.payload[FINGERPRINT_KEY]),
              },
            ]
          : [];
      }),
    });
  });
  return r;
}
