// ThumbnailStore with real sharp on a temp folder: thumbnails made from the preview (one decode of the
// original at ingest) look like thumbnails made from the original, colour management included.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderPreview } from '@image-search/image-formats';
import { ThumbnailStore } from './thumbnail-store.js';

const HASH = `sha256:${'ab'.repeat(32)}`;
const ID = 'a1b2c3d4-0000-4000-8000-000000000001';

/** A 2048x1536 photo-like JPEG in Display P3 (profile attached), so colour management matters. */
async function p3Photo(): Promise<Buffer> {
  const w = 2048;
  const h = 1536;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      px[i] = (x * 255) / w;
      px[i + 1] = (y * 255) / h;
      px[i + 2] = 128 + 100 * Math.sin(x / 40) * Math.cos(y / 55);
    }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .withIccProfile('p3')
    .jpeg({ quality: 92 })
    .toBuffer();
}

async function rgb(jpeg: Buffer) {
  return sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
}

describe('ThumbnailStore.ensure with a preview', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'thumbs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('renders from the preview, with the colours a thumbnail of the original has', async () => {
    const original = await p3Photo();
    const preview = (await renderPreview(original))!.data;
    expect((await sharp(preview).metadata()).icc).toBeDefined();
    const fromOriginal = new ThumbnailStore({ dir: join(dir, 'a'), size: 256 });
    const fromPreview = new ThumbnailStore({ dir: join(dir, 'b'), size: 256 });
    await fromOriginal.ensure(ID, HASH, original);
    await fromPreview.ensure(ID, HASH, Buffer.from('not read: the preview is the source'), preview);
    const [a, b] = [
      await rgb((await fromOriginal.read(ID, 'ab'.repeat(8)))!),
      await rgb((await fromPreview.read(ID, 'ab'.repeat(8)))!),
    ];
    expect([b.info.width, b.info.height]).toEqual([a.info.width, a.info.height]);
    // The same preview without its profile: what a thumbnail looks like when colour management is lost.
    const stripped = await sharp(preview, { ignoreIcc: true }).jpeg({ quality: 90 }).toBuffer();
    const lost = new ThumbnailStore({ dir: join(dir, 'c'), size: 256 });
    await lost.ensure(ID, HASH, original, stripped);
    const c = await rgb((await lost.read(ID, 'ab'.repeat(8)))!);
    const mad = (x: Buffer, y: Buffer) => x.reduce((s, v, i) => s + Math.abs(v - y[i]!), 0) / x.length;
    console.log(
      `thumbnail from preview vs from original: mean |diff| ${mad(a.data, b.data).toFixed(2)} levels; profile lost: ${mad(a.data, c.data).toFixed(2)}`,
    );
    // Resampling and JPEG differences only (~1-2 levels); a lost profile moves P3 colours by far more.
    expect(mad(a.data, b.data)).toBeLessThan(2);
    expect(mad(a.data, c.data)).toBeGreaterThan(3 * mad(a.data, b.data));
  });

  it('renders from the original when the preview is under twice the thumbnail size', async () => {
    const original = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#0000ff' } })
      .jpeg()
      .toBuffer();
    const small = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#ff0000' } })
      .jpeg()
      .toBuffer();
    const store = new ThumbnailStore({ dir, size: 256 });
    await store.ensure(ID, HASH, original, small);
    const { data } = await rgb((await store.read(ID, 'ab'.repeat(8)))!);
    expect(data[2]).toBeGreaterThan(200); // blue: the original's pixels
  });
});
