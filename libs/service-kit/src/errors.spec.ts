import { describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, fromGrpcCode, GrpcCode, toGrpcError, toHttpError } from './errors.js';

describe('error mapping', () => {
  it('maps every code to an HTTP and a gRPC status', () => {
    for (const code of ERROR_CODES) {
      expect(toHttpError(new AppError(code, 'x')).status).toBeGreaterThanOrEqual(400);
      expect(toGrpcError(new AppError(code, 'x')).code).toBeGreaterThan(0);
    }
  });

  it('turns unknown errors into 500 / INTERNAL with the correlation id, never a 400', () => {
    const http = toHttpError(new TypeError('boom'), 'cid-1');
    expect(http.status).toBe(500);
    expect(http.body.error).toMatchObject({ code: 'INTERNAL', correlation_id: 'cid-1' });
    expect(http.body.error.message).not.toContain('boom');
    expect(toGrpcError(new Error('x'), 'cid-2')).toEqual({
      code: GrpcCode.INTERNAL,
      details: expect.stringContaining('cid-2'),
    });
  });

  it('maps client errors and round-trips gRPC codes', () => {
    expect(
      toHttpError(new AppError('INVALID_ARGUMENT', 'bad limit', { details: { field: 'limit' } })).body.error.details,
    ).toEqual({ field: 'limit' });
    expect(fromGrpcCode(GrpcCode.UNAVAILABLE)).toBe('UNAVAILABLE');
    expect(fromGrpcCode(GrpcCode.DATA_LOSS)).toBe('INTERNAL');
  });
});
