import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { AppError } from '@image-search/service-kit';
import type { VectorStore } from '@image-search/vector-store';
import type { AssetRoots } from '../ingest/asset-roots.js';

const MIME: Record<string, string> = {
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heif: 'image/heif',
};

/** Serves original files and thumbnails (made with sharp, cached on disk by asset id + size + mtime). */
export class ImageFiles {
  private readonly inFlight = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly deps: {
      store: VectorStore;
      collections: string[];
      roots: AssetRoots;
      thumbnailDir: string;
      size: number;
    },
  ) {}

  /** The asset's file path and format, after re-checking it against ASSET_ROOTS. */
  async locate(assetId: string): Promise<{ path: string; mime: string; mtimeMs: number; size: number }> {
    for (const c of this.deps.collections) {
      const pts = await this.deps.store.retrieve(c, [assetId]).catch((err: unknown) => {
        if (err instanceof AppError && err.code === 'NOT_FOUND') return [];
        throw err;
      });
      const p = pts[0];
      if (!p) continue;
      const path = typeof p.payload.path === 'string' ? p.payload.path : undefined;
      if (!path) break;
      // The payload path was checked at ingest; re-check so a changed ASSET_ROOTS takes effect at once.
      if (!this.deps.roots.contains(path))
        throw new AppError('PERMISSION_DENIED', `asset ${assetId}'s file is outside the current ASSET_ROOTS`, {
          details: { field: 'asset_id' },
        });
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile())
        throw new AppError('NOT_FOUND', `asset ${assetId}'s file ${path} is gone`, {
          details: { field: 'asset_id', reason: 'file_missing' },
        });
      const format = String(p.payload['format'] ?? path.split('.').pop() ?? '').toLowerCase();
      return { path, mime: MIME[format] ?? 'application/octet-stream', mtimeMs: Math.floor(st.mtimeMs), size: st.size };
    }
    throw new AppError('NOT_FOUND', `no asset with id ${assetId}`, { details: { field: 'asset_id' } });
  }

  /** A JPEG thumbnail (longest side `size`), from the disk cache when fresh. */
  async thumbnail(assetId: string): Promise<{ data: Buffer; cached: boolean; etag: string }> {
    const file = await this.locate(assetId);
    const name = `${assetId}-${this.deps.size}-${file.mtimeMs}-${file.size}.jpg`;
    const cachePath = join(this.deps.thumbnailDir, assetId.slice(0, 2), name);
    const etag = `"${name}"`;
    try {
      return { data: await readFile(cachePath), cached: true, etag };
    } catch {
      /* not cached yet */
    }
    // Concurrent requests for one thumbnail share one sharp run.
    let p = this.inFlight.get(cachePath);
    if (!p) {
      p = this.render(file.path, cachePath).finally(() => this.inFlight.delete(cachePath));
      this.inFlight.set(cachePath, p);
    }
    return { data: await p, cached: false, etag };
  }

  private async render(src: string, cachePath: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await sharp(src, { failOn: 'none', limitInputPixels: 268_402_689 })
        .rotate()
        .resize(this.deps.size, this.deps.size, { fit: 'inside', withoutEnlargement: true })
        .jpeg({ quality: 80, mozjpeg: false })
        .toBuffer();
    } catch (err) {
      throw new AppError(
        'FAILED_PRECONDITION',
        `cannot make a thumbnail: the file is not a readable image (${(err as Error).message})`,
        { details: { reason: 'unreadable_image' } },
      );
    }
    const dir = join(cachePath, '..');
    await mkdir(dir, { recursive: true });
    const tmp = `${cachePath}.${process.pid}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, cachePath);
    return data;
  }
}
