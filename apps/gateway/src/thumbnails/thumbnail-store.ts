import { readFile as readFileCallback } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { inspectImage } from '@image-search/image-formats';
import { renderThumbnail, THUMBNAIL_LIMITS } from './thumbnail-render.js';

/**
 * The callback readFile, promisified: for a thumbnail-sized file it costs less than half the CPU of
 * fs/promises' readFile (~15 vs ~33 µs a read at 32 in flight, Node 20), which goes through a FileHandle.
 */
const readWhole = promisify(readFileCallback);

/** How many hex digits of the content hash a thumbnail's name and URL carry (64 bits: no collisions among one asset's versions). */
export const THUMB_HASH_HEX = 16;

/** The short content key of a `sha256:<hex>` content hash (undefined for anything else). */
export function thumbKeyOf(contentHash: unknown): string | undefined {
  if (typeof contentHash !== 'string') return undefined;
  const m = /^sha256:([0-9a-f]{64})$/.exec(contentHash);
  return m ? m[1]!.slice(0, THUMB_HASH_HEX) : undefined;
}

/** The content-addressed URL of an asset's thumbnail: a new URL whenever the file's content changes. */
export function thumbnailUrl(assetId: string, contentHash: unknown): string | undefined {
  const key = thumbKeyOf(contentHash);
  return key ? `/api/v1/thumbnails/${assetId}/${key}.jpg` : undefined;
}

/**
 * Thumbnails on disk addressed by asset id and content: `<dir>/c/<id[0:2]>/<id>/<key>-<size>.jpg`.
 * One folder per asset, so removing an asset (or the versions an edit left behind) is one folder
 * operation, and serving needs no store lookup: the URL names the file.
 */
export class ThumbnailStore {
  /**
   * `render` makes a thumbnail from image bytes; the gateway passes its killable decode processes (under
   * MAX_DECODE_MS), so a slow-to-decode original at ingest is stopped like a preview is. Default: in-process.
   */
  constructor(
    private readonly opts: { dir: string; size: number; render?: (bytes: Buffer, size: number) => Promise<Buffer> },
  ) {}

  private folder(assetId: string): string {
    return join(this.opts.dir, 'c', assetId.slice(0, 2), assetId);
  }

  /** Where the thumbnail of this asset version lives. */
  pathOf(assetId: string, key: string): string {
    return join(this.folder(assetId), `${key}-${this.opts.size}.jpg`);
  }

  /** The thumbnail bytes, or undefined when none was made for this version. */
  async read(assetId: string, key: string): Promise<Buffer | undefined> {
    return readWhole(this.pathOf(assetId, key)).catch(() => undefined);
  }

  async has(assetId: string, key: string): Promise<boolean> {
    return stat(this.pathOf(assetId, key)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** Renders a JPEG thumbnail (EXIF orientation applied, longest side `size`) from the image bytes or file. */
  async render(source: Buffer | string): Promise<Buffer> {
    const bytes = typeof source === 'string' ? await readFile(source) : source;
    return (this.opts.render ?? renderThumbnail)(bytes, this.opts.size);
  }

  /**
   * Makes the thumbnail of this version (when missing) and removes the asset's other versions (an
   * edited photo's old thumbnail is garbage once its new one exists). Returns the bytes when rendered.
   * `preview`, this version's preview, is the source when its long side is at least twice the
   * thumbnail's: then ingest decodes the original once (for the preview), not twice. Previews keep the
   * original's ICC profile, so the thumbnail is colour-managed as one made from the original.
   */
  async ensure(assetId: string, contentHash: string, source: Buffer | string, preview?: Buffer): Promise<boolean> {
    const key = thumbKeyOf(contentHash);
    if (!key) return false;
    const target = this.pathOf(assetId, key);
    if (await this.has(assetId, key)) return false;
    const data = await this.render((preview && (await this.covers(preview))) || source);
    await this.write(target, data);
    await this.removeOthers(assetId, key);
    return true;
  }

  /** The preview when it is large enough to make this store's thumbnails from (header only, nothing decoded). */
  private async covers(preview: Buffer): Promise<Buffer | undefined> {
    const h = await inspectImage(preview, THUMBNAIL_LIMITS).catch(() => undefined);
    return h && Math.max(h.width, h.height) >= 2 * this.opts.size ? preview : undefined;
  }

  /** Stores rendered bytes atomically (temp file + rename: a reader never sees half a JPEG). */
  async write(target: string, data: Buffer): Promise<void> {
    await mkdir(join(target, '..'), { recursive: true });
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, target);
  }

  /** Removes every thumbnail of the asset (it was deleted). */
  async remove(assetId: string): Promise<void> {
    await rm(this.folder(assetId), { recursive: true, force: true });
  }

  private async removeOthers(assetId: string, keep: string): Promise<void> {
    const names = await readdir(this.folder(assetId)).catch(() => [] as string[]);
    const mine = `${keep}-${this.opts.size}.jpg`;
    await Promise.all(
      names
        .filter((n) => n !== mine && !n.endsWith('.tmp'))
        .map((n) => rm(join(this.folder(assetId), n), { force: true })),
    );
  }
}
