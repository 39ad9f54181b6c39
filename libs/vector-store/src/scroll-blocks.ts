import type { ScrollPage, StoredPoint } from './vector-store.port.js';
import { formatSnapshotCursor } from './snapshot-cursor.js';

/** Rows one block holds: the largest page kept (the asset list's 500), so any kept page fits in one block. */
export const BLOCK_ROWS = 500;

/** One row of a scroll, in row-id order; the payload as stored (JSON), parsed once when a page first serves it. */
export interface ScrollRow {
  rowId: bigint;
  assetId: string;
  payload?: string;
  parsed?: StoredPoint['payload'];
}

/** Consecutive matching rows of one table version and filter, from just after `start` (undefined: the first). */
interface Block {
  key: string;
  start: bigint | undefined;
  rows: Promise<ScrollRow[]>;
  /** The rows once read: pages starting inside the block are cut from them. */
  read?: ScrollRow[];
}

/**
 * Scroll pages cut from blocks of up to BLOCK_ROWS rows read once per table version and filter. Every engine
 * query costs ~2-3 ms of CPU whatever its size (10k rows, 2 vCPUs), so a page of 50 read alone costs about
 * what 500 rows cost: a block serves every page that starts in it (any size up to its end, the next pages of
 * a list people page through), and a page of one version never changes, so no block is ever stale.
 */
export class ScrollBlocks {
  /** Most recently used last. */
  private readonly blocks: Block[] = [];
  /** Rows the kept blocks hold (a block being read counts as full). */
  private rows = 0;

  /** `maxRows`: the most rows kept in all (~500 bytes of payload each). */
  constructor(private readonly maxRows: number) {}

  /**
   * The page of `limit` (at most BLOCK_ROWS) rows after `after` of the version and filter `key` names
   * (with their payloads when `withPayload`; `key` tells the two apart); `read(after, n)` reads the next `n` matching rows in row-id order when no block holds the page.
   */
  async page(
    key: string,
    version: number,
    after: bigint | undefined,
    limit: number,
    withPayload: boolean,
    read: (after: bigint | undefined, n: number) => Promise<ScrollRow[]>,
  ): Promise<ScrollPage> {
    // Looked up without awaiting first, so concurrent pages of one start share the one read.
    const rows = await (this.cut(key, after, limit) ?? this.fill(key, after, read).then((r) => r.slice(0, limit)));
    const last = rows.at(-1);
    return {
      assetIds: rows.map((r) => r.assetId),
      next: rows.length === limit && last ? formatSnapshotCursor(version, last.rowId) : undefined,
      ...(withPayload ? { points: rows.map((r) => ({ assetId: r.assetId, payload: parsed(r) })) } : {}),
    };
  }

  /** The page from a block that holds it whole (or up to the table's end), or undefined. */
  private cut(key: string, after: bigint | undefined, limit: number): Promise<ScrollRow[]> | undefined {
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const b = this.blocks[i]!;
      if (b.key !== key) continue;
      let found: Promise<ScrollRow[]> | undefined;
      if (b.start === after) {
        // Read (or being read) for this very start: BLOCK_ROWS rows, or all that is left, hold any kept page.
        found = b.rows.then((rows) => rows.slice(0, limit));
      } else if (b.read && after !== undefined) {
        const rows = b.read;
        const from = indexOfRow(rows, after) + 1;
        // A block shorter than BLOCK_ROWS reached the end of the table: whatever it has left is the whole page.
        if (from > 0 && (rows.length - from >= limit || rows.length < BLOCK_ROWS))
          found = Promise.resolve(rows.slice(from, from + limit));
      }
      if (!found) continue;
      this.drop(b);
      this.blocks.push(b);
      return found;
    }
    return undefined;
  }

  private fill(
    key: string,
    after: bigint | undefined,
    read: (after: bigint | undefined, n: number) => Promise<ScrollRow[]>,
  ): Promise<ScrollRow[]> {
    const block: Block = { key, start: after, rows: read(after, BLOCK_ROWS) };
    block.rows.then(
      (rows) => {
        block.read = rows;
        if (this.blocks.includes(block)) this.rows += rows.length - BLOCK_ROWS;
      },
      // A failed read is not kept: the next page asked for reads again.
      () => this.remove(block),
    );
    this.blocks.push(block);
    this.rows += BLOCK_ROWS;
    while (this.rows > this.maxRows && this.blocks.length > 1) this.remove(this.blocks[0]!);
    return block.rows;
  }

  /** Takes a block out of the list (`cut` puts it back at the most recently used end; rows unchanged). */
  private drop(block: Block): void {
    const i = this.blocks.indexOf(block);
    if (i >= 0) this.blocks.splice(i, 1);
  }

  private remove(block: Block): void {
    if (!this.blocks.includes(block)) return;
    this.drop(block);
    this.rows -= block.read?.length ?? BLOCK_ROWS;
  }
}

/**
 * The row's payload object, shared by every page that serves the row (callers must not change it): parsing
 * 50 payloads was a tenth of a list request's CPU. Only rows pages have served hold both forms.
 */
function parsed(r: ScrollRow): StoredPoint['payload'] {
  r.parsed ??= JSON.parse(r.payload ?? '{}') as StoredPoint['payload'];
  return r.parsed;
}

/** Index of the row with this row id in rows sorted by row id, or -1. */
function indexOfRow(rows: ScrollRow[], rowId: bigint): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = rows[mid]!.rowId;
    if (r === rowId) return mid;
    if (r < rowId) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
