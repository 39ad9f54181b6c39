import type { ReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isItemFailure, sniffImage } from '@image-search/image-formats';
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

/** The type of an original, from its sniffed bytes. */
const SNIFFED_MIME: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
  ico: 'image/x-icon',
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
      /** Renders a thumbnail of image bytes (in a decode process under MAX_DECODE_MS). */
      render: (bytes: Buffer) => Promise<Buffer>;
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
        throw new AppError('NOT_FOUND', `asset ${assetId}'s file is gone`, {
          details: { field: 'asset_id', reason: 'file_missing' },
        });
      const format = String(p.payload['format'] ?? path.split('.').pop() ?? '').toLowerCase();
      return { path, mime: MIME[format] ?? 'application/octet-stream', mtimeMs: Math.floor(st.mtimeMs), size: st.size };
    }
    throw new AppError('NOT_FOUND', `no asset with id ${assetId}`, { details: { field: 'asset_id' } });
  }

  /**
   * The original file for serving, its type sniffed from the bytes now on disk (not the format
   * recorded at ingest), streamed from the same open file so what is sent is what was sniffed.
   * A file that is no longer an image we take (HTML, SVG, a PDF, unknown bytes) is refused.
   */
  async original(assetId: string): Promise<{ stream: ReadStream; size: number; mime: string; filename: string }> {
    const file = await this.locate(assetId);
    const fh = await open(file.path, 'r').catch(() => {
      throw new AppError('NOT_FOUND', `asset ${assetId}'s file is gone`, {
        details: { field: 'asset_id', reason: 'file_missing' },
      });
    });
    try {
      const head = Buffer.alloc(4096);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      const sniffed = sniffImage(head.subarray(0, bytesRead));
      if (sniffed.kind !== 'accepted')
        throw new AppError(
          'FAILED_PRECONDITION',
          `asset ${assetId}'s file is no longer an image (${sniffed.kind === 'unsupported' ? sniffed.format : 'unknown content'}); it is not served`,
          { details: { field: 'asset_id', reason: 'not_an_image' } },
        );
      const mime = SNIFFED_MIME[sniffed.format] ?? 'application/octet-stream';
      const heifMime = /^ftyp(avif|avis)/.test(head.toString('latin1', 4, 12)) ? 'image/avif' : 'image/heic';
      const size = (await fh.stat()).size;
      return {
        // The stream owns the handle itself (and closes it when done or destroyed). Handing over only the
        // numeric fd left the FileHandle to be closed again at garbage collection, possibly closing a
        // descriptor number by then reused by another file or socket.
        stream: fh.createReadStream({ start: 0, autoClose: true }),
        size,
        mime: sniffed.format === 'heif' ? heifMime : mime,
        filename: basename(file.path),
      };
    } catch (err) {
      await fh.close();
      throw err;
    }
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
      // Every format ingest takes (HEIC, BMP and ICO too), and a decode error is an error: no
      // half-black thumbnail from a damaged file. Rendered under the decode budget (a request cannot stop libvips).
      data = await this.deps.render(await readFile(src));
    } catch (err) {
      if (!isItemFailure(err)) throw err;
      throw new AppError('FAILED_PRECONDITION', `cannot make a thumbnail: ${err.message}`, {
        details: { reason: 'unreadable_image', item_reason: err.reason },
      });
    }
    const dir = join(cachePath, '..');
    await mkdir(dir, { recursive: true });
    const tmp = `${cachePath}.${process.pid}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, cachePath);
    return data;
  }
}
