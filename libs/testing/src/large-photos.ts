import sharp from 'sharp';

/** What a generated large photo looks like: its size, JPEG quality and an EXIF orientation tag, if any. */
export interface LargePhotoOptions {
  width?: number;
  height?: number;
  quality?: number;
  /** Written as the EXIF Orientation tag (the pixels are stored unrotated, as a phone does). */
  orientation?: number;
  /** Seed of the sensor-like noise (same seed, same bytes). */
  seed?: number;
}

/**
 * A phone-sized JPEG (default 4000x3000, 12 MP) made from a small photo: Lanczos upscale, a sharpen for
 * edge detail and seeded per-pixel noise, so the file has the high-frequency content and size (3-6 MB)
 * of a real 12 MP photo instead of the smooth blur a plain upscale gives.
 */
export async function largePhoto(source: Uint8Array, opts: LargePhotoOptions = {}): Promise<Buffer> {
  const width = opts.width ?? 4000;
  const height = opts.height ?? 3000;
  const { data, info } = await sharp(source)
    .autoOrient()
    .resize(width, height, { fit: 'cover', kernel: 'lanczos3' })
    .sharpen({ sigma: 1.2 })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  // xorshift32: cheap, seeded, no dependency; +-10 levels of grain per channel.
  let s = (opts.seed ?? 1) >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const v = data[i]! + ((s & 31) - 15) * 0.66;
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  let out = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  if (opts.orientation) out = out.withMetadata({ orientation: opts.orientation });
  return out.jpeg({ quality: opts.quality ?? 92 }).toBuffer();
}

/**
 * A 4000x3000 mosaic of 8x6 photo tiles (500x500 each, cropped and downscaled from the fixtures' ~640x480
 * COCO photos): detail near the pixel scale everywhere, like a sharp phone photo, unlike an upscaled
 * photo whose only fine detail is the grain added on top. `offset` picks which photos fill it;
 * `orientation` is written as the EXIF tag (pixels stored unrotated).
 */
export async function mosaicPhoto(sources: Uint8Array[], offset: number, orientation?: number): Promise<Buffer> {
  const tile = 500;
  const picks = Array.from({ length: 48 }, (_, i) => (offset * 48 + i) % sources.length);
  const tiles = new Map<number, Buffer>();
  for (const k of new Set(picks))
    tiles.set(
      k,
      await sharp(sources[k]!)
        .autoOrient()
        .resize(tile, tile, { fit: 'cover', kernel: 'lanczos3' })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer(),
    );
  let out = sharp({ create: { width: 8 * tile, height: 6 * tile, channels: 3, background: '#000' } }).composite(
    picks.map((k, i) => ({
      input: tiles.get(k)!,
      raw: { width: tile, height: tile, channels: 3 as const },
      left: (i % 8) * tile,
      top: Math.floor(i / 8) * tile,
    })),
  );
  if (orientation) out = out.withMetadata({ orientation });
  return out.jpeg({ quality: 92 }).toBuffer();
}
