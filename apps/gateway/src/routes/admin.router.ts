import express, { type Router } from 'express';
import type { GatewayDeps } from '../app.types.js';
import { requireScope } from '../http/auth.middleware.js';

/** The admin API (admin scope: ADMIN_TOKEN, an admin API key or an AUTH_PROXY_ADMINS user): GET /admin/models, GET /admin/rollout, POST /admin/rollout/refresh, and the re-embedding router under /admin/siglip. */
export function adminRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  r.use('/admin', requireScope('admin', deps.auth));

  const rolloutView = () => {
    const f = deps.flags.status();
    const c = deps.coverage.snapshot;
    const blocker = deps.router.siglipBlocker();
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
      coverage: {
        clip_collection: c.clipCollection,
        siglip_collection: c.siglipCollection,
        clip_exists: c.clipExists,
        siglip_exists: c.siglipExists,
        clip_points: c.clipPoints,
        siglip_points: c.siglipPoints,
        ratio: c.coverage,
        refreshed_at: c.refreshedAt ?? null,
        last_error: c.lastError ?? null,
      },
      siglip_servable: blocker === undefined,
      siglip_blocker: blocker ?? null,
      breakers: { clip: deps.breakers.clip.state, siglip: deps.breakers.siglip.state },
      embedders: { clip: deps.settings.embedders.clip, siglip: deps.settings.embedders.siglip ?? null },
    };
  };

  r.get('/admin/models', async (_req, res) => {
    res.json({ models: await deps.models.list() });
  });
  r.get('/admin/rollout', (_req, res) => {
    res.json(rolloutView());
  });
  r.post('/admin/rollout/refresh', async (_req, res) => {
    await Promise.all([deps.coverage.refresh(), deps.flags.reload()]);
    res.json(rolloutView());
  });
  if (deps.adminSiglipRouter) r.use('/admin/siglip', deps.adminSiglipRouter);
  return r;
}
