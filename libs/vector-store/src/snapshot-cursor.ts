import { AppError } from '@image-search/service-kit';

/** Where a paged scan of a LanceDB table stands: the table version it reads and the last row id it returned. */
export interface SnapshotCursor {
  version: number;
  after: bigint;
}

/** The opaque `next` value of a page: `v<version>.r<rowid>`. */
export function formatSnapshotCursor(version: number, lastRowId: bigint): string {
  return `v${version}.r${lastRowId.toString()}`;
}

/** Parses a `next` value passed back by a client; INVALID_ARGUMENT naming `what` when it is not one. */
export function parseSnapshotCursor(cursor: string, what: string): SnapshotCursor {
  const m = /^v(\d+)\.r(\d+)$/.exec(cursor);
  if (!m)
    throw new AppError(
      'INVALID_ARGUMENT',
      `${what} cursor ${JSON.stringify(cursor)} is malformed; pass back the 'next' value of the previous page`,
    );
  return { version: Number(m[1]), after: BigInt(m[2]!) };
}
