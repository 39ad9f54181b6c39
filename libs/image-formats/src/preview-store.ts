import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeWith, openImage, shrinksOnLoad, type ImageLimits, type ShrinkOnLoad } from './image-open.js';
import { isFile, PreviewFiles } from './preview-files.js';

/**
 * How previews are made. The defaults were measured, not assumed (libs/embedding's preview conformance
 * test: per-image cosine >= 0.999 against the original on both reference models, COCO and 12 MP photos).
 */
export interface PreviewOptions {
  /** Target short side in pixels; originals under twice this short side get no preview (0 = no previews). */
  shortSide: number;
  /** JPEG quality (4:4:4 chroma, so colour edges survive the models' own resize). */
  quality: number;
  /** How far the decoder may downscale a large JPEG/WebP on load (DecodeContext); default `fast`. */
  shrinkOnLoad?: ShrinkOnLoad;
}

/** 512 px short side: 2.3x CLIP/SigLIP's 224 input, so the models' resize still does the last downscale. */
export const DEFAULT_PREVIEW_OPTIONS: PreviewOptions = { shortSide: 512, quality: 90 };

/**
 * Previews only for originals at least twice the preview's short side. Measured: originals just above
 * it (short side 640-800 for a 512 preview) reach only cosine 0.9987-0.9988 (two resamplings at close
 * ratios); from 2x up the minimum is >= 0.9996. Below 2x (~1 MP) decoding the original is cheap anyway.
 */
export const MIN_SHRINK = 2;

/** libvips' own bomb threshold (16384²): anything ingest took, nothing absurd. */
const PREVIEW_LIMITS: ImageLimits = { maxBytes: Number.MAX_SAFE_INTEGER, maxPixels: 268_402_689 };

/** A rendered preview: JPEG bytes and the size they hold. */
export interface RenderedPreview {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Renders the preview the embedders can take instead of the original: EXIF orientation applied, ICC
 * ignored (as the embedders' preprocessing and the PyTorch references do, so the pixels are the same
 * values, only fewer; the profile is kept in the file for thumbnails), short side `shortSide` (Lanczos3), JPEG. Returns undefined where a preview saves
 * little or could change the embedding: originals under MIN_SHRINK times that short side, and images with alpha (each
 * model family drops alpha its own way, which one flattened JPEG cannot reproduce for both).
 */
export async function renderPreview(
  bytes: Uint8Array,
  opts: PreviewOptions = DEFAULT_PREVIEW_OPTIONS,
): Promise<RenderedPreview | undefined> {
  if (opts.shortSide <= 0) return undefined;
  const img = await openImage(bytes, PREVIEW_LIMITS);
  if (img.hasAlpha || Math.min(img.width, img.height) < MIN_SHRINK * opts.shortSide) return undefined;
  const scale = opts.shortSide / Math.min(img.width, img.height);
  const width = Math.max(1, Math.round(img.width * scale));
  const height = Math.max(1, Math.round(img.height * scale));
  const shrink = opts.shrinkOnLoad ?? 'fast';
  const data = await decodeWith(img, PREVIEW_LIMITS, {}, async (pipeline) => {
    let source = pipeline({ autoOrient: true, ignoreIcc: true, sequentialRead: true });
    if (shrink === 'off' && shrinksOnLoad(img.format)) {
      // The exact path (every pixel decoded, then resized) that shrink-on-load is measured against.
      const full = await source.raw().toBuffer({ resolveWithObject: true });
      const { width: w, height: h, channels } = full.info;
      source = sharp(full.data, { raw: { width: w, height: h, channels } });
    }
    return (
      source
        .resize(width, height, { fit: 'fill', kernel: 'lanczos3', fastShrinkOnLoad: shrink === 'fast' })
        .toColourspace('srgb')
        // The original's profile rides along, pixels untouched (embedders ignore it): a thumbnail made from
        // the preview is colour-managed as one made from the original (+0.5-3 KB per preview).
        .keepIccProfile()
        .jpeg({ quality: opts.quality, chromaSubsampling: '4:4:4' })
        .toBuffer()
    );
  });
  return { data, width, height };
}

/** Previews made at ingest: PreviewFiles plus rendering. */
export class PreviewStore extends PreviewFiles {
  constructor(
    private readonly opts: {
      dir: string;
      /** Renders the preview (default renderPreview in-process); the gateway passes its killable decode processes. */
      render?: (bytes: Uint8Array, opts: PreviewOptions) => Promise<RenderedPreview | undefined>;
    } & PreviewOptions,
  ) {
    super(opts.dir);
  }

  /**
   * Makes this version's preview when missing (and worth one) and removes the asset's other versions.
   * Returns what it did; a decode error propagates (the caller logs it: the original stays the source).
   */
  async ensure(assetId: string, contentHash: string, source: Buffer | string): Promise<'exists' | 'made' | 'none'> {
    return (await this.ensureKept(assetId, contentHash, source)).status;
  }

  /** As ensure(), and a preview made now comes back with its bytes, so the caller need not read the file it wrote. */
  async ensureKept(
    assetId: string,
    contentHash: string,
    source: Buffer | string,
  ): Promise<{ status: 'exists' | 'none' } | { status: 'made'; data: Buffer }> {
    const target = this.pathOf(assetId, contentHash);
    if (!target) return { status: 'none' };
    // `<key>.none` marks content that gets no preview, so a rescan does not decode it again to find out.
    const marker = target.replace(/\.jpg$/, '.none');
    if (await this.has(assetId, contentHash)) return { status: 'exists' };
    if (await isFile(marker)) return { status: 'none' };
    const bytes = typeof source === 'string' ? await readFile(source) : source;
    const { shortSide, quality, shrinkOnLoad } = this.opts;
    const options: PreviewOptions = { shortSide, quality, ...(shrinkOnLoad ? { shrinkOnLoad } : {}) };
    const preview = await (this.opts.render ?? renderPreview)(bytes, options);
    await mkdir(this.folder(assetId), { recursive: true });
    // Temp file + rename: a reader never sees half a JPEG.
    const kept = preview ? target : marker;
    const tmp = `${kept}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, preview ? preview.data : '');
    await rename(tmp, kept);
    const names = await readdir(this.folder(assetId)).catch(() => [] as string[]);
    const mine = kept.slice(this.folder(assetId).length + 1);
    await Promise.all(
      names
        .filter((n) => n !== mine && !n.endsWith('.tmp'))
        .map((n) => rm(join(this.folder(assetId), n), { force: true })),
    );
    return preview ? { status: 'made', data: preview.data } : { status: 'none' };
  }
}
