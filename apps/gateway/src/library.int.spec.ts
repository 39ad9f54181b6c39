// Integration: a library that changes. Re-ingesting a root reconciles it with the REAL embedded store
// (LanceDB, both collections live), the REAL embedded catalogue, REAL Redis + BullMQ and thumbnails on
// disk; the embedders are the in-process fakes (colour vectors), so edits change vectors visibly.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { AppFixture, ingest, search, TOKEN } from '../test/app-fixture.js';
import { call, type Res } from '../test/http.js';

const fx = new AppFixture();
let gw: AppFixture['gw'];
const COLLECTIONS = ['clip_t', 'siglip_t'];

const assetAt = async (path: string) => {
  const list = await call(gw.url, '/api/v1/assets', 'GET', '/api/v1/assets?limit=100');
  return list.body.assets.find((a: { path: string }) => a.path === path) as
    { id: string; thumbnail_url: string; path: string } | undefined;
};
const counts = async () => Promise.all(COLLECTIONS.map((c) => gw.gw.deps.store.count(c)));
/** Every discovered file is accounted for exactly once. */
const accounted = (r: Res) =>
  expect(r.body.done + r.body.unchanged + r.body.failed + r.body.refused, JSON.stringify(r.body)).toBe(
    r.body.discovered,
  );

beforeAll(async () => {
  await fx.setUp({ ingest: false });
  gw = fx.gw;
  for (const [family, name] of [
    ['clip', 'clip_t'],
    ['siglip', 'siglip_t'],
  ] as const)
    await gw.gw.deps.store.ensureCollection(collectionSchema(family, { name, vectorSize: 4 }));
  writeFileSync(join(fx.photos, 'notes.txt'), 'not a photo');
  // A valid JPEG header over missing data: sharp reads its size, both embedders reject it.
  const noise = Buffer.from(Array.from({ length: 128 * 128 * 3 }, (_, i) => (i * 7919) % 251));
  const jpeg = await sharp(noise, { raw: { width: 128, height: 128, channels: 3 } })
    .jpeg()
    .toBuffer();
  writeFileSync(join(fx.photos, 'blue', 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
}, 60_000);
afterAll(() => fx.tearDown());

describe('ingest as reconciliation (real store, catalogue, Redis; fake embedders)', () => {
  it('first ingest adds files to every live collection, counting files, not embedder attempts', async () => {
    const s = await ingest(gw.url, fx.photos);
    // 7 good + broken.jpg + truncated.jpg + notes.txt + 2 symlinks leaving the root.
    expect(s.body).toMatchObject({ state: 'completed', discovered: 12, added: 7, done: 7, failed: 2, refused: 3 });
    accounted(s);
    expect(await counts()).toEqual([7, 7]);
    const f = await call(
      gw.url,
      '/api/v1/assets/ingest/{ingest_id}/failures',
      'GET',
      `${s.body.failures_url}?limit=2`,
      { token: TOKEN },
    );
    expect(f.body.total).toBe(5);
    expect(f.body.failures).toHaveLength(2);
    expect(f.body.next_offset).toBe(2);
    const rest = await call(
      gw.url,
      '/api/v1/assets/ingest/{ingest_id}/failures',
      'GET',
      `${s.body.failures_url}?offset=2&limit=100`,
      { token: TOKEN },
    );
    const all = [...f.body.failures, ...rest.body.failures];
    expect(rest.body.next_offset).toBeNull();
    // The file both models rejected is listed once, with both reasons.
    const truncated = all.filter((x: { path: string }) => x.path === 'photos/blue/truncated.jpg');
    expect(truncated).toHaveLength(1);
    expect(truncated[0].reason).toMatch(/clip.*CORRUPT_IMAGE.*; .*siglip.*CORRUPT_IMAGE/);
    expect(all.find((x: { path: string }) => x.path === 'photos/notes.txt')).toMatchObject({
      kind: 'refused',
      reason: expect.stringMatching(/^UNSUPPORTED_FORMAT: \.txt/),
    });
    const unauth = await call(gw.url, '/api/v1/assets/ingest/{ingest_id}/failures', 'GET', s.body.failures_url);
    expect(unauth.status).toBe(401);
  });

  it('thumbnails exist after ingest, before any view, and are content-addressed, immutable, with ETag and 304', async () => {
    const r1 = await assetAt('red/r1.png');
    expect(r1!.thumbnail_url).toMatch(new RegExp(`^/api/v1/thumbnails/${r1!.id}/[0-9a-f]{16}\\.jpg$`));
    const dir = join(fx.root, 'data', 'thumbnails', 'c', r1!.id.slice(0, 2), r1!.id);
    expect(readdirSync(dir)).toHaveLength(1);
    const t = await fetch(gw.url + r1!.thumbnail_url);
    expect(t.status).toBe(200);
    expect(t.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = t.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{16}-256"$/);
    const again = await fetch(gw.url + r1!.thumbnail_url, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const wrong = await fetch(`${gw.url}/api/v1/thumbnails/${r1!.id}/${'0'.repeat(16)}.jpg`);
    expect(wrong.status).toBe(404);
    expect(await wrong.text()).not.toContain(fx.photos);
    expect((await fetch(`${gw.url}/api/v1/thumbnails/${r1!.id}/nope.png`)).status).toBe(400);
  });

  it('a thumbnail missing at view time (ingest could not make it) is rendered then, in the decode process under MAX_DECODE_MS', async () => {
    expect(gw.gw.deps.viewThumbnails).toBeDefined();
    const r2 = await assetAt('red/r2.png');
    const dir = join(fx.root, 'data', 'thumbnails', 'c', r2!.id.slice(0, 2), r2!.id);
    for (const f of readdirSync(dir)) unlinkSync(join(dir, f));
    const t = await fetch(gw.url + r2!.thumbnail_url);
    expect(t.status).toBe(200);
    expect((await sharp(Buffer.from(await t.arrayBuffer())).metadata()).format).toBe('jpeg');
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('an unchanged rescan re-embeds nothing', async () => {
    const calls = fx.clip.calls + fx.siglip.calls;
    const s = await ingest(gw.url, fx.photos);
    expect(s.body).toMatchObject({ unchanged: 7, added: 0, changed: 0, moved: 0, removed: 0, failed: 2, refused: 3 });
    accounted(s);
    // Only the two failing files are tried again (Info + EmbedImages per model), no good file.
    expect(fx.clip.calls + fx.siglip.calls - calls).toBeLessThanOrEqual(4);
  });

  it('an edited file is re-embedded in every collection and gets a new thumbnail URL; the old one is collected', async () => {
    const before = (await assetAt('red/r2.png'))!;
    const oldThumb = before.thumbnail_url;
    await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: 250, g: 250, b: 0 } } })
      .png()
      .toFile(join(fx.photos, 'red', 'r2.png'));
    const s = await ingest(gw.url, fx.photos);
    expect(s.body).toMatchObject({ changed: 1, unchanged: 6, added: 0, removed: 0 });
    accounted(s);
    const after = (await assetAt('red/r2.png'))!;
    expect(after.id).toBe(before.id);
    expect(after.thumbnail_url).not.toBe(oldThumb);
    expect((await fetch(gw.url + after.thumbnail_url)).status).toBe(200);
    expect((await fetch(gw.url + oldThumb)).status).toBe(404);
    // Its vectors are the new content's in both collections: a yellow search finds it first.
    for (const model of [{ query: 'yellow' }, { query: 'yellow', user_id: 1 }]) {
      const r = await search(gw.url, { ...model, limit: 2 });
      expect(r.body.results.map((x: { asset: { id: string } }) => x.asset.id)).toContain(before.id);
    }
    const points = await gw.gw.deps.store.retrieve('siglip_t', [before.id]);
    expect(points[0]!.payload['content_hash']).toBe((await gw.gw.deps.catalogue.get([before.id]))[0]!.contentHash);
  });

  it('a moved file keeps its id, is re-pointed in every collection and the catalogue, never duplicated', async () => {
    const before = (await assetAt('blue/b1.png'))!;
    mkdirSync(join(fx.photos, 'archive'), { recursive: true });
    renameSync(join(fx.photos, 'blue', 'b1.png'), join(fx.photos, 'archive', 'b1-moved.png'));
    const embedsBefore = fx.clip.calls;
    const s = await ingest(gw.url, fx.photos);
    expect(s.body).toMatchObject({ moved: 1, added: 0, removed: 0, changed: 0, unchanged: 6 });
    accounted(s);
    expect(await counts()).toEqual([7, 7]);
    const after = (await assetAt('archive/b1-moved.png'))!;
    expect(after.id).toBe(before.id);
    expect(after.thumbnail_url).toBe(before.thumbnail_url);
    expect(await assetAt('blue/b1.png')).toBeUndefined();
    for (const c of COLLECTIONS) {
      const [p] = await gw.gw.deps.store.retrieve(c, [before.id]);
      expect(p!.payload.path, c).toBe(join(fx.photos, 'archive', 'b1-moved.png'));
      expect(p!.payload.category, c).toBe('archive');
    }
    expect((await gw.gw.deps.catalogue.get([before.id]))[0]!.path).toBe(join(fx.photos, 'archive', 'b1-moved.png'));
    // Same content: no good file embedded (only the two failing files are tried again).
    expect(fx.clip.calls - embedsBefore).toBeLessThanOrEqual(2);
  });

  it('a vanished file is removed from every collection, the catalogue and its thumbnails', async () => {
    const g1 = (await assetAt('green/g1.png'))!;
    const thumbDir = join(fx.root, 'data', 'thumbnails', 'c', g1.id.slice(0, 2), g1.id);
    expect(existsSync(thumbDir)).toBe(true);
    // A 24x16 photo gets no preview, only the marker that spares a rescan from decoding it to find out.
    const previewDir = join(fx.root, 'data', 'previews', g1.id.slice(0, 2), g1.id);
    expect(readdirSync(previewDir)).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.none$/)]);
    unlinkSync(join(fx.photos, 'green', 'g1.png'));
    const s = await ingest(gw.url, fx.photos);
    expect(s.body).toMatchObject({ removed: 1, unchanged: 6, added: 0, moved: 0 });
    accounted(s);
    expect(await counts()).toEqual([6, 6]);
    expect(await gw.gw.deps.catalogue.get([g1.id])).toEqual([]);
    expect(existsSync(thumbDir)).toBe(false);
    expect(existsSync(previewDir)).toBe(false);
    const r = await call(gw.url, '/api/v1/assets/{asset_id}', 'GET', `/api/v1/assets/${g1.id}`);
    expect(r.status).toBe(404);
  });

  it('a new file at the path a moved file left gets its own id', async () => {
    const moved = (await assetAt('archive/b1-moved.png'))!;
    writeFileSync(join(fx.photos, 'blue', 'b1.png'), readFileSync(join(fx.photos, 'red', 'r1.png')));
    const s = await ingest(gw.url, fx.photos);
    expect(s.body).toMatchObject({ added: 1, unchanged: 6 });
    const fresh = (await assetAt('blue/b1.png'))!;
    expect(fresh.id).not.toBe(moved.id);
    expect((await assetAt('archive/b1-moved.png'))!.id).toBe(moved.id);
    expect(await counts()).toEqual([7, 7]);
  });
});

describe('DELETE /api/v1/assets/:id', () => {
  it('removes the asset from every collection, the catalogue and its thumbnail; unknown ids are 404', async () => {
    const r3 = (await assetAt('red/r3.png'))!;
    const path = '/api/v1/assets/{asset_id}';
    expect((await call(gw.url, path, 'DELETE', `/api/v1/assets/${r3.id}`)).status).toBe(401);
    const del = await call(gw.url, path, 'DELETE', `/api/v1/assets/${r3.id}`, { token: TOKEN });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ asset_id: r3.id, deleted: true });
    for (const c of COLLECTIONS) expect(await gw.gw.deps.store.retrieve(c, [r3.id]), c).toEqual([]);
    expect(await gw.gw.deps.catalogue.get([r3.id])).toEqual([]);
    expect((await fetch(gw.url + r3.thumbnail_url)).status).toBe(404);
    expect(existsSync(join(fx.root, 'data', 'previews', r3.id.slice(0, 2), r3.id))).toBe(false);
    const again = await call(gw.url, path, 'DELETE', `/api/v1/assets/${r3.id}`, { token: TOKEN });
    expect(again.status).toBe(404);
    expect(again.body.error).toMatchObject({ code: 'NOT_FOUND', details: { field: 'asset_id' } });
    expect(again.body.error.message).toContain(`no asset with id ${r3.id}`);
    const bad = await call(gw.url, path, 'DELETE', '/api/v1/assets/not-an-id', { token: TOKEN });
    expect(bad.status).toBe(400);
  });
});
