import { resolve } from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import type { GatewayDeps } from './app.types.js';
import { authenticate, requireScope } from './http/auth.middleware.js';
import { correlationMiddleware } from './http/correlation.middleware.js';
import { securityHeaders } from './http/security-headers.js';
import { errorMiddleware, notFound } from './http/errors.middleware.js';
import { adminRouter } from './routes/admin.router.js';
import { assetsRouter } from './routes/assets.router.js';
import { authRouter } from './routes/auth.router.js';
import { imagesRouter } from './routes/images.router.js';
import { libraryRouter } from './routes/library.router.js';
import { thumbnailsRouter } from './routes/thumbnails.router.js';
import { searchRouter } from './routes/search.router.js';
import { eventsRouter } from './routes/events.router.js';
import { rampRouter } from './routes/ramp.router.js';
import { systemRouter } from './routes/system.router.js';

/** The search page's static files (HTML/CSS/vanilla JS, no build step). */
export const PUBLIC_DIR = resolve(import.meta.dirname, '../public');

/** Counts and times every request by route template and the model that answered. */
function metricsMiddleware(deps: GatewayDeps): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const routePath = (req.route as { path?: string } | undefined)?.path;
      const route = routePath
        ? `${req.baseUrl}${routePath}`
        : res.statusCode === 404
          ? 'unmatched'
          : req.path.startsWith('/api/')
            ? 'unmatched'
            : 'static';
      const model = typeof res.locals['model'] === 'string' ? (res.locals['model'] as string) : 'none';
      deps.metrics.requests.inc({ route, method: req.method, status: String(res.statusCode), model });
      deps.metrics.latency.observe(
        { route, method: req.method, model },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  };
}

/** API answers are per caller and change: no cache keeps them (image routes set their own policy). */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('cache-control', 'no-store');
  next();
};

/** Builds the express app from its dependencies (main.ts wires real ones; tests may wire fakes). */
export function createApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // One hop: the address the ingress in front saw. `true` would take the leftmost X-Forwarded-For
  // entry, which any client can write, and so choose its own rate-limit key.
  app.set('trust proxy', deps.settings.trustProxy ? 1 : false);
  app.set('etag', false);
  app.use(correlationMiddleware);
  app.use(securityHeaders());
  app.use(metricsMiddleware(deps));
  // Everything under /api needs a credential when auth is configured (the OpenAPI document included);
  // /health, /ready, /metrics and the page's static files (code, no data) do not.
  app.use('/api', noStore, authenticate(deps.auth), requireScope('search', deps.auth));
  app.use(systemRouter(deps));
  app.use('/api/v1', authRouter(deps));
  app.use('/api/v1', searchRouter(deps));
  app.use('/api/v1', eventsRouter(deps));
  app.use('/api/v1', rampRouter(deps));
  app.use('/api/v1', libraryRouter(deps));
  app.use('/api/v1', assetsRouter(deps));
  app.use('/api/v1', thumbnailsRouter(deps));
  app.use('/api/v1', imagesRouter(deps));
  app.use('/api/v1', adminRouter(deps));
  app.use('/api', notFound);
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));
  app.use(notFound);
  app.use(errorMiddleware(deps.logger, deps.paths));
  return app;
}
