// Pure logic: the rows come from an in-memory table (row ids 10, 20, ...), no engine involved.
import { describe, expect, it } from 'vitest';
import { BLOCK_ROWS, ScrollBlocks, type ScrollRow } from './scroll-blocks.js';
import { parseSnapshotCursor } from './snapshot-cursor.js';

function table(n: number) {
  const rows: ScrollRow[] = Array.from({ length: n }, (_, i) => ({
    rowId: BigInt((i + 1) * 10),
    assetId: `a${i}`,
    payload: JSON.stringify({ i }),
  }));
  const reads: (bigint | undefined)[] = [];
  const read = (after: bigint | undefined, limit: number) => {
    reads.push(after);
    return Promise.resolve(rows.filter((r) => after === undefined || r.rowId > after).slice(0, limit));
  };
  return { read, reads };
}

const afterOf = (next: string | undefined) => parseSnapshotCursor(next!, 'test').after;

describe('ScrollBlocks', () => {
  it('cuts first pages of any size and the following pages from one read', async () => {
    const t = table(2000);
    const blocks = new ScrollBlocks(4 * BLOCK_ROWS);
    const sizes = [40, 50, 60, 50];
    for (const n of sizes) expect((await blocks.page('k', 7, undefined, n, true, t.read)).assetIds).toHaveLength(n);
    let page = await blocks.page('k', 7, undefined, 50, true, t.read);
    const seen = [...page.assetIds];
    while (seen.length < BLOCK_ROWS) {
      page = await blocks.page('k', 7, afterOf(page.next), 50, true, t.read);
      seen.push(...page.assetIds);
    }
    expect(seen).toEqual(Array.from({ length: BLOCK_ROWS }, (_, i) => `a${i}`));
    expect(page.points?.at(-1)).toEqual({ assetId: `a${BLOCK_ROWS - 1}`, payload: { i: BLOCK_ROWS - 1 } });
    expect(t.reads).toEqual([undefined]);
    // Past the block's end: one more read, from where the page starts.
    page = await blocks.page('k', 7, afterOf(page.next), 50, true, t.read);
    expect(page.assetIds[0]).toBe(`a${BLOCK_ROWS}`);
    expect(t.reads).toHaveLength(2);
    // Another version or filter never shares a block.
    await blocks.page('other', 8, undefined, 50, true, t.read);
    expect(t.reads).toHaveLength(3);
  });

  it('reads again for a page that runs past a full block, and ends at the end of the table', async () => {
    const t = table(BLOCK_ROWS + 30);
    const blocks = new ScrollBlocks(4 * BLOCK_ROWS);
    const first = await blocks.page('k', 1, undefined, 480, false, t.read);
    expect(first.points).toBeUndefined();
    const second = await blocks.page('k', 1, afterOf(first.next), 50, false, t.read);
    expect(second.assetIds).toEqual(Array.from({ length: 50 }, (_, i) => `a${480 + i}`));
    expect(t.reads).toHaveLength(2);
    const last = await blocks.page('k', 1, afterOf(second.next), 50, false, t.read);
    expect(last).toEqual({ assetIds: [], next: undefined });
    expect(t.reads).toHaveLength(2);
  });

  it('shares one read among concurrent pages and keeps no failed read', async () => {
    const t = table(100);
    const blocks = new ScrollBlocks(4 * BLOCK_ROWS);
    const pages = await Promise.all([40, 50, 60].map((n) => blocks.page('k', 1, undefined, n, true, t.read)));
    expect(pages.map((p) => p.assetIds.length)).toEqual([40, 50, 60]);
    expect(t.reads).toHaveLength(1);
    const failing = () => Promise.reject(new Error('engine down'));
    await expect(blocks.page('f', 1, undefined, 10, true, failing)).rejects.toThrow('engine down');
    expect((await blocks.page('f', 1, undefined, 10, true, t.read)).assetIds).toHaveLength(10);
  });

  it('keeps at most maxRows rows, dropping the least recently used block first', async () => {
    const t = table(2000);
    const blocks = new ScrollBlocks(2 * BLOCK_ROWS);
    for (const k of ['a', 'b', 'a', 'c']) await blocks.page(k, 1, undefined, 50, true, t.read);
    expect(t.reads).toHaveLength(3);
    await blocks.page('a', 1, undefined, 50, true, t.read);
    expect(t.reads).toHaveLength(3);
    await blocks.page('b', 1, undefined, 50, true, t.read);
    expect(t.reads).toHaveLength(4);
  });
});
