import type { Request } from 'express';
import { z } from 'zod';

/** An asset id: 32 lowercase hex characters. */
export const assetIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');
/** Path parameters naming one asset (built once: zod compiles each new schema object on first use). */
export const assetIdParamsSchema = z.object({ asset_id: assetIdSchema });
/** Path parameters naming one ingest job (built once, like assetIdParamsSchema). */
export const ingestIdParamsSchema = z.object({ ingest_id: z.uuid('must be a UUID') });

/** A user id: a string (1..256 chars) or a finite number. */
export const userIdSchema = z
  .union([z.string().trim().min(1, 'must not be empty').max(256), z.number().finite()])
  .describe('Rollout bucketing key: integers go to id mod 100, other ids to a stable hash mod 100');

/** An integer query-string parameter in [min, max] with a default. */
export function intParam(def: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .meta({ type: 'integer', minimum: min, maximum: max, default: def }) // what the API document shows
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be an integer between ${min} and ${max} (got ${JSON.stringify(v)})`,
        });
        return z.NEVER;
      }
      return Number(v);
    });
}

/** A number query-string parameter in [min, max], optional. */
export function numParam(min: number, max: number) {
  return z
    .string()
    .optional()
    .meta({ type: 'number', minimum: min, maximum: max }) // what the API document shows
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a number between ${min} and ${max} (got ${JSON.stringify(v)})`,
        });
        return z.NEVER;
      }
      return n;
    });
}

const SESSION_COOKIE = 'isearch_sid';

/** The anonymous session id: the `x-session-id` header, else the `isearch_sid` cookie. */
export function sessionIdOf(req: Request): string | undefined {
  const h = req.get('x-session-id');
  if (h && /^[A-Za-z0-9._:-]{1,128}$/.test(h)) return h;
  const cookie = req.get('cookie');
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === SESSION_COOKIE) {
      const v = decodeURIComponent(part.slice(i + 1).trim());
      return /^[A-Za-z0-9._:-]{1,128}$/.test(v) ? v : undefined;
    }
  }
  return undefined;
}

/** A plain single string from the query string (arrays from `?a=1&a=2` are refused by the schema). */
export function queryOf(req: Request): Record<string, unknown> {
  return { ...(req.query as Record<string, unknown>) };
}
