/** Every error code the services raise; each maps to one HTTP and one gRPC status below. */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'INVALID_CONFIG',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'FAILED_PRECONDITION',
  'PAYLOAD_TOO_LARGE',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'RATE_LIMITED',
  'DEADLINE_EXCEEDED',
  'UNAVAILABLE',
  'CANCELLED',
  'SCHEMA_MISMATCH',
  'INTERNAL',
] as const;

/** A machine-readable error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A typed error with a code, a message for people and optional details for machines. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /** Seconds a client should wait before retrying, where that is known. */
  readonly retryAfterS: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: Record<string, unknown>; cause?: unknown; retryAfterS?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = opts.details;
    this.retryAfterS = opts.retryAfterS;
  }
}

/** True for an AppError, optionally of one code. */
export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

const HTTP: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  INVALID_CONFIG: 500,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 503,
  RATE_LIMITED: 429,
  DEADLINE_EXCEEDED: 504,
  UNAVAILABLE: 503,
  CANCELLED: 499,
  SCHEMA_MISMATCH: 500,
  INTERNAL: 500,
};

/** gRPC status numbers (from the gRPC spec), kept here so the kit needs no gRPC import. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const GRPC: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: GrpcCode.INVALID_ARGUMENT,
  INVALID_CONFIG: GrpcCode.INTERNAL,
  NOT_FOUND: GrpcCode.NOT_FOUND,
  ALREADY_EXISTS: GrpcCode.ALREADY_EXISTS,
  FAILED_PRECONDITION: GrpcCode.FAILED_PRECONDITION,
  PAYLOAD_TOO_LARGE: GrpcCode.INVALID_ARGUMENT,
  UNAUTHENTICATED: GrpcCode.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcCode.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: GrpcCode.RESOURCE_EXHAUSTED,
  RATE_LIMITED: GrpcCode.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: GrpcCode.DEADLINE_EXCEEDED,
  UNAVAILABLE: GrpcCode.UNAVAILABLE,
  CANCELLED: GrpcCode.CANCELLED,
  SCHEMA_MISMATCH: GrpcCode.FAILED_PRECONDITION,
  INTERNAL: GrpcCode.INTERNAL,
};

/** The body every edge answers an error with. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown>; correlation_id?: string };
}

/**
 * Maps any thrown value to an HTTP status and body. Unknown errors become a 500 INTERNAL
 * whose message hides internals and carries the correlation id, never a 400.
 */
export function toHttpError(
  err: unknown,
  correlationId?: string,
): { status: number; body: ErrorBody; retryAfterS?: number } {
  if (err instanceof AppError) {
    return {
      status: HTTP[err.code],
      body: {
        error: {
          code: err.code,
          message: err.message,
          ...(err.details ? { details: err.details } : {}),
          ...(correlationId ? { correlation_id: correlationId } : {}),
        },
      },
      ...(err.retryAfterS !== undefined ? { retryAfterS: err.retryAfterS } : {}),
    };
  }
  return {
    status: 500,
    body: {
      error: {
        code: 'INTERNAL',
        message: `Internal error; quote correlation id ${correlationId ?? 'n/a'} when reporting it.`,
        ...(correlationId ? { correlation_id: correlationId } : {}),
      },
    },
  };
}

/** Maps any thrown value to a gRPC status code and message (INTERNAL for unknown errors). */
export function toGrpcError(err: unknown, correlationId?: string): { code: number; details: string } {
  if (err instanceof AppError) return { code: GRPC[err.code], details: err.message };
  return { code: GrpcCode.INTERNAL, details: `Internal error; correlation id ${correlationId ?? 'n/a'}` };
}

/** Maps a gRPC status code received from a peer back to an AppError code. */
export function fromGrpcCode(code: number): ErrorCode {
  switch (code) {
    case GrpcCode.INVALID_ARGUMENT:
    case GrpcCode.OUT_OF_RANGE:
      return 'INVALID_ARGUMENT';
    case GrpcCode.NOT_FOUND:
      return 'NOT_FOUND';
    case GrpcCode.ALREADY_EXISTS:
      return 'ALREADY_EXISTS';
    case GrpcCode.FAILED_PRECONDITION:
      return 'FAILED_PRECONDITION';
    case GrpcCode.PERMISSION_DENIED:
      return 'PERMISSION_DENIED';
    case GrpcCode.UNAUTHENTICATED:
      return 'UNAUTHENTICATED';
    case GrpcCode.RESOURCE_EXHAUSTED:
      return 'RESOURCE_EXHAUSTED';
    case GrpcCode.DEADLINE_EXCEEDED:
      return 'DEADLINE_EXCEEDED';
    case GrpcCode.UNAVAILABLE:
      return 'UNAVAILABLE';
    case GrpcCode.CANCELLED:
      return 'CANCELLED';
    default:
      return 'INTERNAL';
  }
}
