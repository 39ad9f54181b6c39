import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '@image-search/service-kit';
import type { AssetCatalogue, CatalogueWrite } from '../asset-catalogue.port.js';

/** A well-formed random asset id. */
export const newId = () => randomBytes(16).toString('hex');
/** A well-formed content hash derived from a label. */
export const hashOf = (label: string) => `sha256:${Buffer.from(label.padEnd(32, '.')).toString('hex').slice(0, 64)}`;
const entry = (i: number): CatalogueWrite => ({
  assetId: newId(),
  path: `/photos/img-${i}.jpg`,
  contentHash: hashOf(`v1-${i}`),
});

async function refused(p: Promise<unknown>, code: string): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(err) || err.code !== code) throw new Error(`expected ${code}, got ${String(err)}`);
  return err.message;
}

/**
 * The behaviour both catalogues must show, identically (PostgreSQL and the embedded engine).
 * `open` gives a fresh, empty catalogue; `dispose` removes what it stored.
 */
export function assetCatalogueContract(
  name: string,
  open: () => Promise<{ catalogue: AssetCatalogue; dispose: () => Promise<void> }>,
): void {
  describe(`asset catalogue contract: ${name}`, () => {
    let cat: AssetCatalogue;
    let dispose: () => Promise<void>;
    beforeAll(async () => {
      ({ catalogue: cat, dispose } = await open());
    });
    afterAll(async () => {
      await dispose?.();
    });

    it('stores, replaces by id, reads back and counts', async () => {
      const batch = Array.from({ length: 25 }, (_, i) => entry(i));
      await cat.upsert(batch);
      expect(await cat.count()).toBe(25);
      const changed = { ...batch[3]!, path: '/photos/moved.jpg', contentHash: hashOf('v2') };
      await cat.upsert([changed]);
      expect(await cat.count()).toBe(25);
      const [got] = await cat.get([changed.assetId]);
      expect(got).toMatchObject(changed);
      expect(Date.parse(got!.updatedAt)).not.toBeNaN();
      const two = await cat.get([batch[0]!.assetId, batch[1]!.assetId, newId(), 'not-an-id']);
      expect(two.map((e) => e.assetId).sort()).toEqual([batch[0]!.assetId, batch[1]!.assetId].sort());
    });

    it('removes by id, ignoring unknown ids', async () => {
      const batch = [entry(100), entry(101)];
      await cat.upsert(batch);
      const before = await cat.count();
      await cat.remove([batch[0]!.assetId, newId()]);
      expect(await cat.count()).toBe(before - 1);
      expect(await cat.get([batch[0]!.assetId])).toEqual([]);
    });

    it('scrolls every entry exactly once, also while entries are written meanwhile', async () => {
      const total = await cat.count();
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await cat.scroll({ limit: 7, cursor });
        seen.push(...page.entries.map((e) => e.assetId));
        cursor = page.next;
        // A write in the middle of the scroll is neither repeated nor does it break the cursor.
        if (pages++ === 1) await cat.upsert([entry(200)]);
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBeGreaterThanOrEqual(total);
      expect(seen.length).toBeLessThanOrEqual(total + 1);
      expect(pages).toBeGreaterThan(3);
    });

    it('refuses a bad batch whole, naming the entry and field, and stores nothing of it', async () => {
      const before = await cat.count();
      const good = entry(300);
      expect(await refused(cat.upsert([good, { ...entry(301), contentHash: 'md5:abc' }]), 'INVALID_ARGUMENT')).toMatch(
        /entry 1: contentHash/,
      );
      expect(await refused(cat.upsert([{ ...good, assetId: '../../etc' }]), 'INVALID_ARGUMENT')).toMatch(/assetId/);
      expect(await refused(cat.upsert([{ ...good, path: '' }]), 'INVALID_ARGUMENT')).toMatch(/path/);
      expect(await refused(cat.upsert([good, good]), 'INVALID_ARGUMENT')).toMatch(/twice/);
      expect(await cat.count()).toBe(before);
      expect(await cat.get([good.assetId])).toEqual([]);
      expect(await refused(cat.scroll({ limit: 0 }), 'INVALID_ARGUMENT')).toMatch(/limit/);
      expect(await refused(cat.scroll({ limit: 5, cursor: 'garbage' }), 'INVALID_ARGUMENT')).toMatch(/cursor/);
    });

    it('records the model state with compare-and-set (a stale writer is refused, nothing is lost)', async () => {
      expect(await cat.readModelState()).toBeUndefined();
      const retired = {
        model_id: 'clip-a',
        collection: 'image_assets',
        replaced_by: 'siglip-b',
        retired_at: '2026-01-01T00:00:00.000Z',
        drop_after: '2026-01-08T00:00:00.000Z',
        dropped_at: null,
      };
      const first = await cat.writeModelState({ pair: { from: 'clip-a', to: 'siglip-b' }, retired: [] }, 0);
      expect(first).toMatchObject({ version: 1, pair: { from: 'clip-a', to: 'siglip-b' } });
      expect(
        await refused(cat.writeModelState({ pair: { from: 'x', to: null }, retired: [] }, 0), 'FAILED_PRECONDITION'),
      ).toMatch(/changed meanwhile/);
      const second = await cat.writeModelState({ pair: { from: 'siglip-b', to: null }, retired: [retired] }, 1);
      expect(second.version).toBe(2);
      expect(
        await refused(cat.writeModelState({ pair: { from: 'y', to: null }, retired: [] }, 1), 'FAILED_PRECONDITION'),
      ).toMatch(/version 1/);
      expect(await cat.readModelState()).toMatchObject({
        version: 2,
        pair: { from: 'siglip-b', to: null },
        retired: [retired],
      });
    });
  });
}
