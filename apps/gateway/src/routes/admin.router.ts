import express, { type Router } from 'express';
import { z } from 'zod';
import { AppError } from '@image-search/service-kit';
import type { GatewayDeps } from '../app.types.js';
import { requireScope } from '../http/auth.middleware.js';
import { validate } from '../http/validate.js';
import { intParam, queryOf } from './params.js';

/** Query of GET /api/v1/admin/online. */
export const onlineQuerySchema = z.object({ days: intParam(7, 1, 366) }).strict();

/** The admin API (admin scope: ADMIN_TOKEN, an admin API key or an AUTH_PROXY_ADMINS user): GET /admin/models, GET /admin/rollout, GET /admin/shadow, GET /admin/online, POST /admin/rollout/refresh, and the re-embedding routers under /admin/migrations (any registered pair) and /admin/siglip (the configured pair). */
export function adminRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  r.use('/admin', requireScope('admin', deps.auth));

  const rolloutView = () => {
    const f = deps.flags.status();
    const c = deps.coverage.snapshot;
    const blocker = deps.router.blocker();
    const pair = deps.servingPair.pair;
    return {
      flags: {
        use_siglip: f.flags.useSiglip,
        siglip_rollout_percentage: f.flags.percentage,
        siglip_min_coverage: f.flags.minCoverage,
      },
      source: f.source,
      origins: {
        use_siglip: f.origins.useSiglip,
        siglip_rollout_percentage: f.origins.percentage,
        siglip_min_coverage: f.origins.minCoverage,
      },
      flags_file: f.file
        ? {
            path: f.file.path,
            applied_at: f.file.appliedAt ?? null,
            last_error: f.file.lastError ?? null,
            last_error_at: f.file.lastErrorAt ?? null,
          }
        : null,
      pair: { from: pair.from.id, to: pair.to?.id ?? null, source: pair.source, retired: pair.retired },
      coverage: {
        from_model: c.fromModel,
        to_model: c.toModel || null,
        from_collection: c.fromCollection,
        to_collection: c.toCollection || null,
        from_exists: c.fromExists,
        to_exists: c.toExists,
        from_points: c.fromPoints,
        to_points: c.toPoints,
        catalogue_assets: c.catalogueAssets ?? null,
        baseline: c.baseline,
        ratio: c.coverage,
        refreshed_at: c.refreshedAt ?? null,
        last_error: c.lastError ?? null,
        // The seed's names for the same counts (clip = the pair's `from`, siglip = its `to`), kept for old clients.
        clip_collection: c.fromCollection,
        siglip_collection: c.toCollection,
        clip_exists: c.fromExists,
        siglip_exists: c.toExists,
        clip_points: c.fromPoints,
        siglip_points: c.toPoints,
      },
      servable: blocker === undefined,
      blocker: blocker ?? null,
      siglip_servable: blocker === undefined,
      siglip_blocker: blocker ?? null,
      breakers: Object.fromEntries(deps.registry.list().map((m) => [m.id, deps.breakers.get(m.id).state])),
      embedders: Object.fromEntries(deps.registry.list().map((m) => [m.id, m.embedder ?? null])),
    };
  };

  r.get('/admin/models', async (_req, res) => {
    res.json({ models: await deps.models.list() });
  });
  r.get('/admin/rollout', (_req, res) => {
    res.json(rolloutView());
  });
  r.get('/admin/online', async (req, res) => {
    const { days } = validate(onlineQuerySchema, queryOf(req), 'query');
    if (!deps.tracking) throw new AppError('UNAVAILABLE', 'online metrics are not recorded by this gateway');
    res.json(await deps.tracking.online.summary(days));
  });
  r.get('/admin/shadow', (_req, res) => {
    res.json(
      deps.shadow?.summary() ?? {
        settings: { percentage: 0, max_concurrency: 0, max_per_second: 0, deadline_ms: 0, idle_wait_ms: 0 },
        in_flight: 0,
        skipped: {},
        pairs: [],
      },
    );
  });
  r.post('/admin/rollout/refresh', async (_req, res) => {
    await Promise.all([deps.coverage.refresh(), deps.flags.reload()]);
    res.json(rolloutView());
  });
  if (deps.adminMigrationsRouter) r.use('/admin/migrations', deps.adminMigrationsRouter);
  if (deps.adminSiglipRouter) r.use('/admin/siglip', deps.adminSiglipRouter);
  return r;
}
