import express, { type Router } from 'express';
import type { GatewayDeps } from '../app.types.js';
import { openApiDocument } from '../openapi/openapi.js';

/** GET /health (liveness), /ready (store reachable and an embedder able to answer; each embedder's state), /metrics, /api/v1/openapi.json. */
export function systemRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/ready', async (_req, res) => {
    const p = await deps.health.probe();
    res
      .status(p.ready ? 200 : 503)
      .json({ status: p.ready ? 'ready' : 'not_ready', checks: p.checks, degraded: p.degraded });
  });
  r.get('/metrics', async (_req, res) => {
    const c = deps.coverage.snapshot;
    deps.metrics.coverage.set(c.coverage);
    deps.metrics.rolloutCoverage.reset();
    deps.metrics.rolloutCoverage.set({ from: c.fromModel, to: c.toModel }, c.coverage);
    deps.metrics.points.set({ model: c.fromModel }, c.fromPoints);
    deps.metrics.points.set({ model: c.toModel }, c.toPoints);
    for (const m of deps.registry.list())
      deps.metrics.breaker.set({ model: m.id }, deps.breakers.get(m.id).state === 'closed' ? 0 : 1);
    res.set('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  r.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  return r;
}
