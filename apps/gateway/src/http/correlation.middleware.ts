import type { RequestHandler } from 'express';
import { CORRELATION_HEADER, withCorrelationId, currentCorrelationId } from '@image-search/service-kit';

/** Reads (or assigns) the correlation id, echoes it, and runs the request in its async context. */
export const correlationMiddleware: RequestHandler = (req, res, next) => {
  withCorrelationId(req.get(CORRELATION_HEADER), () => {
    res.setHeader(CORRELATION_HEADER, currentCorrelationId() ?? '');
    next();
  });
};
