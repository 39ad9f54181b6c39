import { z } from 'zod';
import { AppError } from './errors.js';

/** A schema for one app's environment; keys are the variable names. */
export type EnvSchema = z.ZodObject<z.ZodRawShape>;

/**
 * Parses the environment once against a schema and fails fast with a message that names
 * every bad variable and the form it expects. The only place in the code base that reads
 * process.env (pass `env` in tests).
 */
export function parseConfig<S extends EnvSchema>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const got = issue.path.length > 0 ? env[String(issue.path[0])] : undefined;
    return `  ${name}: ${issue.message}${got === undefined ? ' (not set)' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new AppError('INVALID_CONFIG', `Invalid configuration:\n${lines.join('\n')}`, {
    details: { variables: result.error.issues.map((i) => i.path.join('.')) },
  });
}

/** Environment helpers shared by every app's config schema. */
export const env = {
  /** `true|false|1|0|yes|no` (case-insensitive) with a default. */
  bool: (def: boolean) =>
    z
      .string()
      .trim()
      .toLowerCase()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === '') return def;
        if (['true', '1', 'yes', 'on'].includes(v)) return true;
        if (['false', '0', 'no', 'off'].includes(v)) return false;
        ctx.addIssue({ code: 'custom', message: 'expected true or false' });
        return z.NEVER;
      }),
  /** An integer within [min, max] with a default. */
  int: (def: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .trim()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === '') return def;
        if (!/^-?\d+$/.test(v)) {
          ctx.addIssue({ code: 'custom', message: `expected an integer between ${min} and ${max}` });
          return z.NEVER;
        }
        const n = Number(v);
        if (n < min || n > max) {
          ctx.addIssue({ code: 'custom', message: `expected an integer between ${min} and ${max}` });
          return z.NEVER;
        }
        return n;
      }),
  /** A number within [min, max] with a default. */
  num: (def: number, min = -Infinity, max = Infinity) =>
    z
      .string()
      .trim()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === '') return def;
        const n = Number(v);
        if (!Number.isFinite(n) || n < min || n > max) {
          ctx.addIssue({ code: 'custom', message: `expected a number between ${min} and ${max}` });
          return z.NEVER;
        }
        return n;
      }),
  /** A TCP port (0 picks a free one). */
  port: (def: number) => env.int(def, 0, 65535),
  /** A string with a default; empty counts as unset. */
  str: (def: string) =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? def : v.trim())),
  /** An optional string; empty counts as unset. */
  optStr: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
  /** A comma-separated list. */
  list: (def: string[]) =>
    z
      .string()
      .optional()
      .transform((v) =>
        v === undefined || v.trim() === ''
          ? def
          : v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
      ),
  /** One of a fixed set of values. */
  oneOf: <T extends string>(values: readonly [T, ...T[]], def: T) =>
    z
      .string()
      .trim()
      .optional()
      .transform((v, ctx): T => {
        if (v === undefined || v === '') return def;
        if ((values as readonly string[]).includes(v)) return v as T;
        ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}` });
        return z.NEVER;
      }),
  /** pino log level. */
  logLevel: () => env.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
};
