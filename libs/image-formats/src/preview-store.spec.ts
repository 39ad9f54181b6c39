// Real files in a temp folder, real sharp.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreviewStore, renderPreview } from './preview-store.js';

const photo = (w: number, h: number, opts: { alpha?: boolean; orientation?: number } = {}) => {
  const channels = opts.alpha ? 4 : 3;
  const px = Buffer.alloc(w * h * channels);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919) % 251;
  const img = sharp(px, { raw: { width: w, height: h, channels } });
  if (opts.alpha) return img.png().toBuffer();
  return (opts.orientation ? img.withMetadata({ orientation: opts.orientation }) : img).jpeg().toBuffer();
};
const hashOf = (c: string) => `sha256:${c.repeat(64)}`;

describe('renderPreview', () => {
  it('makes an upright JPEG with the short side asked for, and none where it would not help', async () => {
    const p = await renderPreview(await photo(1600, 1200), { shortSide: 512, quality: 90 });
    expect(p && [p.width, p.height]).toEqual([683, 512]);
    expect(await sharp(p!.data).metadata()).toMatchObject({ format: 'jpeg', width: 683, height: 512 });
    // EXIF orientation 6 (stored landscape, shown portrait): the preview holds the displayed pixels.
    const turned = await renderPreview(await photo(1600, 1200, { orientation: 6 }), { shortSide: 512, quality: 90 });
    expect(turned && [turned.width, turned.height]).toEqual([512, 683]);
    expect((await sharp(turned!.data).metadata()).orientation).toBeUndefined();
    expect(await renderPreview(await photo(640, 480), { shortSide: 512, quality: 90 })).toBeUndefined();
    expect(
      await renderPreview(await photo(1600, 1200, { alpha: true }), { shortSide: 512, quality: 90 }),
    ).toBeUndefined();
    expect(await renderPreview(await photo(1600, 1200), { shortSide: 0, quality: 90 })).toBeUndefined();
  });
});

describe('PreviewStore', () => {
  let dir: string;
  let store: PreviewStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'previews-'));
    store = new PreviewStore({ dir, shortSide: 512, quality: 90 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps one preview per asset, keyed by content: an edit replaces it, the old content reads as missing', async () => {
    const id = 'ab12cd34';
    expect(await store.ensure(id, hashOf('1'), await photo(1600, 1200))).toBe('made');
    expect(await store.ensure(id, hashOf('1'), Buffer.from('not read'))).toBe('exists');
    expect((await store.read(id, hashOf('1')))?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(await store.ensure(id, hashOf('2'), await photo(2000, 1500))).toBe('made');
    expect(await store.read(id, hashOf('1'))).toBeUndefined();
    expect(await readdir(join(dir, 'ab', id))).toEqual([`${'2'.repeat(64)}.jpg`]);
    await store.remove(id);
    expect(await store.read(id, hashOf('2'))).toBeUndefined();
    await expect(readdir(join(dir, 'ab', id))).rejects.toThrow(/ENOENT/);
  });

  it('ensureKept hands back the bytes of a preview it made, the same as the file it wrote', async () => {
    const id = 'cd78';
    const kept = await store.ensureKept(id, hashOf('6'), await photo(1600, 1200));
    expect(kept.status).toBe('made');
    expect(kept.status === 'made' && kept.data).toEqual(await store.read(id, hashOf('6')));
    expect(await store.ensureKept(id, hashOf('6'), Buffer.from('not read'))).toEqual({ status: 'exists' });
  });

  it('marks content that gets no preview so a rescan does not decode it again; bad keys are never paths', async () => {
    const id = 'ef56';
    expect(await store.ensure(id, hashOf('3'), await photo(300, 200))).toBe('none');
    expect(await store.ensure(id, hashOf('3'), Buffer.from('garbage: would throw if decoded'))).toBe('none');
    expect(await store.read(id, hashOf('3'))).toBeUndefined();
    expect(await store.ensure('../etc', hashOf('4'), await photo(1600, 1200))).toBe('none');
    expect(await store.ensure(id, 'sha256:short', await photo(1600, 1200))).toBe('none');
    await expect(store.ensure(id, hashOf('5'), Buffer.from('garbage'))).rejects.toThrow();
  });
});
