import { decodeWith, openImage } from '@image-search/image-formats';

/** libvips' own bomb threshold (16384²): anything ingest took, nothing absurd. */
export const THUMBNAIL_LIMITS = { maxBytes: Number.MAX_SAFE_INTEGER, maxPixels: 268_402_689 };

/**
 * A JPEG thumbnail (EXIF orientation applied, longest side `size`) of image bytes. Every format ingest
 * takes (HEIC, BMP, ICO too); a decode error is an ItemFailure, never a black thumbnail.
 */
export async function renderThumbnail(bytes: Buffer, size: number): Promise<Buffer> {
  const img = await openImage(bytes, THUMBNAIL_LIMITS);
  return decodeWith(img, THUMBNAIL_LIMITS, {}, (pipeline) =>
    pipeline({ autoOrient: true })
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer(),
  );
}
