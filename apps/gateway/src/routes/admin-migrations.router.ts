import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { AppError, toHttpError, type Logger } from '@image-search/service-kit';
import type { ReembedControl } from '@image-search/jobs';

/** The control operations the router needs (ReembedControl from @image-search/jobs). */
export type AdminMigrationControl = Pick<
  ReembedControl,
  'start' | 'pause' | 'resume' | 'cancel' | 'verify' | 'retryFailed' | 'status'
>;
/** The old name (the SigLIP-only router). */
export type AdminSiglipControl = AdminMigrationControl;

/**
 * Turns the pair a start names (registry model ids; omitted: the serving pair) into the serving
 * migration before the run starts: checks the ids and records the pair, as `tools:reembed start` does.
 */
export interface MigrationStarter {
  prepare(pair: { from?: string | undefined; to?: string | undefined }): Promise<{ from: string; to: string }>;
}

/** Options of the admin router. */
export interface AdminMigrationsRouterOptions {
  control: AdminMigrationControl;
  /** Without one, a start runs the control's own pair and `from`/`to` are refused. */
  starter?: MigrationStarter;
  /**
   * The pair every start of this router migrates (the old /admin/siglip routes: the configured
   * CLIP → SigLIP pair); `from`/`to` in the body are then unknown fields.
   */
  pinned?: { from: string; to: string };
  logger?: Logger;
  /**
   * When set, the router checks `Authorization: Bearer <token>` itself. Leave unset when it is
   * mounted behind the gateway's own ADMIN_TOKEN middleware.
   */
  adminToken?: string;
}

/** Body of POST /api/v1/admin/siglip/start (optional): the configured pair's run. */
export const startBody = z
  .object({
    batch_size: z.number().int().min(1).max(10_000).optional(),
    only_missing: z.boolean().optional(),
  })
  .strict();

const MODEL_ID = z.string().min(1).max(63);

/** Body of POST /api/v1/admin/migrations/start (optional): registry model ids, defaults the serving pair. */
export const migrationStartBody = startBody
  .extend({
    from: MODEL_ID.optional().describe('registered model id migrated from (default: the serving model)'),
    to: MODEL_ID.optional().describe("registered model id migrated to (default: the serving pair's)"),
  })
  .strict();

/**
 * Admin endpoints of re-embedding runs between two registered models, mounted at
 * /api/v1/admin/migrations: GET /status, POST /start {from?, to?, batch_size?, only_missing?}, /pause,
 * /resume, /cancel, /verify, /retry-failed. With `pinned` (the old /api/v1/admin/siglip routes) every
 * start migrates that pair and the body takes no model ids.
 */
export function createAdminMigrationsRouter(opts: AdminMigrationsRouterOptions): Router {
  const router = express.Router();
  if (opts.adminToken) router.use(bearerAuth(opts.adminToken));
  router.use(express.json({ limit: '16kb' }));

  const handle =
    (fn: (req: Request) => Promise<{ status?: number; body: unknown }>) =>
    (req: Request, res: Response, next: NextFunction) => {
      fn(req).then(
        (r) => res.status(r.status ?? 200).json(r.body),
        (err: unknown) => next(err),
      );
    };

  router.get(
    '/status',
    handle(async () => ({ body: await opts.control.status() })),
  );
  router.post(
    '/start',
    handle(async (req) => {
      const parsed = (opts.pinned || !opts.starter ? startBody : migrationStartBody).safeParse(req.body ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'body');
        throw new AppError('INVALID_ARGUMENT', `invalid start request: ${field}: ${issue.message}`, {
          details: { field },
        });
      }
      const named = parsed.data as z.infer<typeof migrationStartBody>;
      await opts.starter?.prepare(opts.pinned ?? { from: named.from, to: named.to });
      const r = await opts.control.start({ batchSize: parsed.data.batch_size, onlyMissing: parsed.data.only_missing });
      return { status: r.started ? 202 : 200, body: { started: r.started, ...r.status } };
    }),
  );
  router.post(
    '/pause',
    handle(async () => ({ body: await opts.control.pause() })),
  );
  router.post(
    '/resume',
    handle(async () => ({ body: await opts.control.resume() })),
  );
  router.post(
    '/cancel',
    handle(async () => ({ body: await opts.control.cancel() })),
  );
  router.post(
    '/verify',
    handle(async () => ({ status: 202, body: await opts.control.verify() })),
  );
  router.post(
    '/retry-failed',
    handle(async () => {
      const r = await opts.control.retryFailed();
      return { status: r.retried > 0 ? 202 : 200, body: { retried: r.retried, ...r.status } };
    }),
  );

  // One error mapping for the router: client mistakes are 4xx with a JSON body, never a 500.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = bodyParserError(err) ?? err;
    const { status, body, retryAfterS } = toHttpError(e, req.header('x-correlation-id'));
    if (status >= 500) opts.logger?.error({ err, path: req.path }, 'admin migrations request failed');
    if (retryAfterS !== undefined) res.setHeader('retry-after', String(retryAfterS));
    res.status(status).json(body);
  });
  return router;
}

/** The old SigLIP-only router: the same endpoints, every start pinned to the configured pair (`pinned`). */
export const createAdminSiglipRouter = createAdminMigrationsRouter;
/** The old name of the options. */
export type AdminSiglipRouterOptions = AdminMigrationsRouterOptions;

function bodyParserError(err: unknown): AppError | undefined {
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed')
    return new AppError('INVALID_ARGUMENT', `request body is not valid JSON: ${e.message ?? ''}`, {
      details: { field: 'body' },
    });
  if (e?.type === 'entity.too.large')
    return new AppError('PAYLOAD_TOO_LARGE', 'request body is too large (limit 16 kB)', { details: { field: 'body' } });
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
    return new AppError('INVALID_ARGUMENT', e.message ?? 'bad request', { details: { field: 'body' } });
  return undefined;
}

function bearerAuth(token: string) {
  const expected = Buffer.from(token);
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.header('authorization') ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    const { status, body } = toHttpError(
      new AppError('UNAUTHENTICATED', 'admin endpoints need Authorization: Bearer <ADMIN_TOKEN>'),
    );
    res.status(status).setHeader('www-authenticate', 'Bearer').json(body);
  };
}
