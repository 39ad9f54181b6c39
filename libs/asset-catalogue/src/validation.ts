import { AppError } from '@image-search/service-kit';
import type { CatalogueWrite } from './asset-catalogue.port.js';

const ID = /^[0-9a-f]{32}$/;
const HASH = /^sha256:[0-9a-f]{64}$/;

/** The largest page a scroll returns and the most entries one write takes. */
export const MAX_PAGE = 10_000;

/** Checks a batch before anything is written: INVALID_ARGUMENT naming the first bad entry and field. */
export function validateWrites(entries: CatalogueWrite[]): void {
  if (entries.length > MAX_PAGE)
    throw new AppError('INVALID_ARGUMENT', `at most ${MAX_PAGE} catalogue entries per write (got ${entries.length})`);
  entries.forEach((e, i) => {
    const bad = (field: string, expected: string) =>
      new AppError('INVALID_ARGUMENT', `catalogue entry ${i}: ${field} must be ${expected}`, {
        details: { index: i, field },
      });
    if (typeof e.assetId !== 'string' || !ID.test(e.assetId)) throw bad('assetId', '32 lower-case hex digits');
    if (typeof e.path !== 'string' || e.path === '' || e.path.length > 4096 || e.path.includes('\0'))
      throw bad('path', 'a non-empty path of at most 4096 characters');
    if (typeof e.contentHash !== 'string' || !HASH.test(e.contentHash))
      throw bad('contentHash', '"sha256:" followed by 64 hex digits');
  });
  const ids = new Set(entries.map((e) => e.assetId));
  if (ids.size !== entries.length)
    throw new AppError('INVALID_ARGUMENT', 'the same assetId appears twice in one write');
}

/** Checks ids passed to get/remove (only well-formed ids can exist). */
export function validIds(ids: string[]): string[] {
  if (ids.length > MAX_PAGE)
    throw new AppError('INVALID_ARGUMENT', `at most ${MAX_PAGE} ids per call (got ${ids.length})`);
  return ids.filter((id) => typeof id === 'string' && ID.test(id));
}

/** Checks a scroll page size. */
export function validLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw new AppError('INVALID_ARGUMENT', `limit must be an integer from 1 to ${MAX_PAGE} (got ${limit})`);
  return limit;
}
