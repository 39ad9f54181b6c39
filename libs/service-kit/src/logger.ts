import { pino, type Logger, type LoggerOptions } from 'pino';
import { currentCorrelationId } from './correlation.js';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'config.ADMIN_TOKEN',
  'config.QDRANT_API_KEY',
  'config.REDIS_URL',
  'ADMIN_TOKEN',
  'QDRANT_API_KEY',
];

/** A pino JSON logger that stamps the service name and the current correlation id on every line. */
export function createLogger(
  service: string,
  level: LoggerOptions['level'] = 'info',
  destination?: pino.DestinationStream,
): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const correlationId = currentCorrelationId();
      return correlationId ? { correlation_id: correlationId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
