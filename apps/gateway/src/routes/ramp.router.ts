import express, { type Router } from 'express';
import { z } from 'zod';
import { AppError } from '@image-search/service-kit';
import type { GatewayDeps } from '../app.types.js';
import { requireScope } from '../http/auth.middleware.js';
import { validate } from '../http/validate.js';
import { rampPlanSchema } from '../ramp/ramp-plan.js';

/** Path parameter of POST /api/v1/admin/ramp/{action}. */
export const rampActionSchema = z.object({ action: z.enum(['start', 'pause', 'resume', 'abort']) });

/** GET /admin/ramp (state, leader, decisions) and POST /admin/ramp/{start|pause|resume|abort} (admin scope). */
export function rampRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  r.use('/admin/ramp', requireScope('admin', deps.auth));
  const ramp = () => {
    if (!deps.ramp) throw new AppError('UNAVAILABLE', 'the guarded ramp is not wired in this gateway');
    return deps.ramp;
  };
  r.get('/admin/ramp', async (_req, res) => {
    const s = await ramp().status();
    res.json({ ...s, effective: deps.router ? effective(deps) : null });
  });
  r.post('/admin/ramp/:action', express.json({ limit: '16kb' }), async (req, res) => {
    const { action } = validate(rampActionSchema, req.params, 'params');
    const plan = action === 'start' ? validate(rampPlanSchema, req.body ?? {}) : undefined;
    const state = await ramp().command(action, plan);
    res.json({ state, effective: effective(deps) });
  });
  return r;
}

function effective(deps: GatewayDeps) {
  const f = deps.flags.status().flags;
  const e = deps.effectiveFlags?.() ?? f;
  return {
    operator_ceiling: f.useSiglip ? 100 : f.percentage,
    percentage: e.useSiglip ? 100 : e.percentage,
  };
}
