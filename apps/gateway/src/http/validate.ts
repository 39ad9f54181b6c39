import type { z } from 'zod';
import { AppError } from '@image-search/service-kit';

/** Parses `input` with a zod schema; failures become 400 INVALID_ARGUMENT naming the first bad field and listing all. */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: 'body' | 'query' | 'params' = 'body',
): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : where, message: i.message }));
  const first = issues[0]!;
  throw new AppError('INVALID_ARGUMENT', `${first.field}: ${first.message}`, {
    details: { field: first.field, issues },
  });
}
