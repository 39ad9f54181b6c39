import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { AppError, currentCorrelationId, toHttpError, type Logger } from '@image-search/service-kit';
import type { AssetPaths } from '../search/asset-paths.js';

/** Turns errors thrown by express and multer for a client's mistake into AppErrors naming the problem. */
function normalise(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE')
      return new AppError(
        'PAYLOAD_TOO_LARGE',
        `upload too large: field '${err.field ?? 'image'}' exceeds the size limit`,
        { details: { field: err.field ?? 'image' } },
      );
    return new AppError('INVALID_ARGUMENT', `bad upload: ${err.message}${err.field ? ` (field '${err.field}')` : ''}`, {
      details: { field: err.field ?? 'image', reason: err.code },
    });
  }
  const e = err as { type?: string; status?: number; limit?: number; message?: string };
  if (e && typeof e === 'object') {
    if (e.type === 'entity.too.large')
      return new AppError('PAYLOAD_TOO_LARGE', `request body too large (limit ${e.limit ?? '?'} bytes)`, {
        details: { field: 'body', limit: e.limit },
      });
    if (e.type === 'entity.parse.failed')
      return new AppError('INVALID_ARGUMENT', 'request body is not valid JSON', { details: { field: 'body' } });
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
      return new AppError('INVALID_ARGUMENT', `bad request: ${e.message ?? 'malformed'}`, {
        details: { field: 'body', reason: e.type },
      });
  }
  return err;
}

/** The one place HTTP errors are mapped (toHttpError); unknown errors are logged and become 500 with the correlation id. */
export function errorMiddleware(logger: Logger, paths?: AssetPaths): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const mapped = toHttpError(normalise(err), currentCorrelationId());
    if (mapped.status === 500) logger.error({ err, route: req.path }, 'request failed');
    else if (mapped.status >= 502)
      logger.warn({ err: (err as Error).message, route: req.path }, 'request failed: dependency unavailable');
    if (mapped.retryAfterS !== undefined)
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(mapped.retryAfterS))));
    // The last line of defence: no error names an asset root's absolute path (a decoder's or the file system's text may).
    res.status(mapped.status).json(paths ? paths.redactDeep(mapped.body) : mapped.body);
  };
}

/** 404 for unknown API paths, as JSON. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('NOT_FOUND', `no route ${req.method} ${req.path}`));
};
