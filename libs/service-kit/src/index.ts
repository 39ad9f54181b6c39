export { parseConfig, env, type EnvSchema } from './config.js';
export {
  AppError,
  isAppError,
  toHttpError,
  toGrpcError,
  fromGrpcCode,
  GrpcCode,
  ERROR_CODES,
  type ErrorCode,
  type ErrorBody,
} from './errors.js';
export { createLogger, REDACT_PATHS, type Logger } from './logger.js';
export { withCorrelationId, currentCorrelationId, sanitizeCorrelationId, CORRELATION_HEADER } from './correlation.js';
export { GracefulShutdown, type ShutdownStep } from './shutdown.js';
export { HealthState, startHealthServer } from './health.js';
export { runCli, parseCommandLine, describeFailure, UsageError, type RunCliOptions } from './cli.js';
