import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREVIEW_OPTIONS, isItemFailure, renderPreview } from '@image-search/image-formats';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { thumbKeyOf, ThumbnailStore } from './thumbnail-store.js';
import { ViewThumbnailRenderer } from './view-renderer.js';

async function photo(width: number, height: number): Promise<Buffer> {
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  return sharp(noise, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90, progressive: true })
    .toBuffer();
}

describe('ViewThumbnailRenderer (real decode processes, real libvips)', () => {
  const renderers: ViewThumbnailRenderer[] = [];
  afterAll(async () => {
    await Promise.all(renderers.map((r) => r.close()));
  });

  it('renders in a decode process the same thumbnail as in-process rendering', async () => {
    const bounded = new ViewThumbnailRenderer({ size: 64, timeoutMs: 60_000 });
    const local = new ViewThumbnailRenderer({ size: 64, timeoutMs: 0 });
    renderers.push(bounded, local);
    const src = await photo(320, 200);
    const [a, b] = await Promise.all([bounded.render(src), local.render(src)]);
    expect(Buffer.isBuffer(a)).toBe(true);
    expect(await sharp(a).metadata()).toMatchObject({ format: 'jpeg', width: 64, height: 40 });
    expect(a.equals(b)).toBe(true);
  });

  it('fails a render over MAX_DECODE_MS with DECODE_TIMEOUT, kills the process and takes the next image in a new one', async () => {
    const replaced: string[] = [];
    // 1 ms: no child process decodes and resizes a 6-megapixel progressive JPEG that fast.
    const tight = new ViewThumbnailRenderer({ size: 64, timeoutMs: 1, onReplace: (why) => replaced.push(why) });
    renderers.push(tight);
    const err = await tight.render(await photo(3000, 2000)).catch((e: unknown) => e);
    expect(isItemFailure(err) && err.reason).toBe('DECODE_TIMEOUT');
    expect(replaced).toEqual(['timeout']);
    // The replacement process takes the next image (it may be over 1 ms too: either answer, never a hang).
    const next = await tight.render(await photo(32, 32)).then(
      (b) => (b.length > 0 ? 'rendered' : 'empty'),
      (e: unknown) => (isItemFailure(e) ? e.reason : 'error'),
    );
    expect(['rendered', 'DECODE_TIMEOUT']).toContain(next);
  });

  it('fails a file that is not an image with an item failure, not a crash', async () => {
    const r = new ViewThumbnailRenderer({ size: 64, timeoutMs: 60_000 });
    renderers.push(r);
    const err = await r.render(Buffer.from('not an image at all')).catch((e: unknown) => e);
    expect(isItemFailure(err)).toBe(true);
    const ok = await r.render(await photo(100, 100));
    expect((await sharp(ok).metadata()).width).toBe(64);
  });

  it('renders an ingest preview in a decode process byte for byte as in-process, and fails one over budget with DECODE_TIMEOUT', async () => {
    const bounded = new ViewThumbnailRenderer({ size: 64, timeoutMs: 60_000 });
    const tight = new ViewThumbnailRenderer({ size: 64, timeoutMs: 1 });
    renderers.push(bounded, tight);
    const src = await photo(1200, 1100);
    const [a, b] = await Promise.all([bounded.preview(src, DEFAULT_PREVIEW_OPTIONS), renderPreview(src)]);
    expect(a && { width: a.width, height: a.height }).toEqual({ width: 559, height: 512 });
    expect(Buffer.isBuffer(a?.data) && a!.data.equals(b!.data)).toBe(true);
    // Too small for a preview: none, as in-process.
    expect(await bounded.preview(await photo(300, 200), DEFAULT_PREVIEW_OPTIONS)).toBeUndefined();
    const err = await tight.preview(await photo(3000, 2000), DEFAULT_PREVIEW_OPTIONS).catch((e: unknown) => e);
    expect(isItemFailure(err) && err.reason).toBe('DECODE_TIMEOUT');
  });

  it('makes ingest thumbnails through the decode processes: one over budget fails with DECODE_TIMEOUT and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'thumb-budget-'));
    try {
      const bounded = new ViewThumbnailRenderer({ size: 64, timeoutMs: 60_000 });
      const tight = new ViewThumbnailRenderer({ size: 64, timeoutMs: 1 });
      renderers.push(bounded, tight);
      const hash = `sha256:${'ab'.repeat(32)}`;
      const ok = new ThumbnailStore({ dir: join(dir, 'ok'), size: 64, render: (b) => bounded.render(b) });
      const src = await photo(320, 200);
      expect(await ok.ensure('asset-1', hash, src)).toBe(true);
      expect((await ok.read('asset-1', thumbKeyOf(hash)!))?.equals(await bounded.render(src))).toBe(true);
      // Small enough to get no preview, so ingest thumbnails the original itself: still under the budget.
      const slow = new ThumbnailStore({ dir: join(dir, 'slow'), size: 64, render: (b) => tight.render(b) });
      const err = await slow.ensure('asset-2', hash, await photo(3000, 2000)).catch((e: unknown) => e);
      expect(isItemFailure(err) && err.reason).toBe('DECODE_TIMEOUT');
      expect(await slow.has('asset-2', thumbKeyOf(hash)!)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
