// Generated 12 MP photos with detail at their own scale (for bench/decode-shrink.bench.ts).
import sharp from 'sharp';

/**
 * A 4000x3000 mosaic of 8x6 photo tiles (500x500 each, cropped and downscaled from the fixtures' ~640x480
 * COCO photos): detail near the pixel scale everywhere, like a sharp phone photo, unlike an upscaled
 * photo whose only fine detail is the grain added on top. `offset` picks which photos fill it.
 */
export async function mosaicPhoto(sources: Uint8Array[], offset: number): Promise<Buffer> {
  const tile = 500;
  const tiles = await Promise.all(
    Array.from({ length: 48 }, async (_, i) => ({
      input: await sharp(sources[(offset * 48 + i) % sources.length]!)
        .autoOrient()
        .resize(tile, tile, { fit: 'cover', kernel: 'lanczos3' })
        .removeAlpha()
        .toColourspace('srgb')
        .png()
        .toBuffer(),
      left: (i % 8) * tile,
      top: Math.floor(i / 8) * tile,
    })),
  );
  return sharp({ create: { width: 8 * tile, height: 6 * tile, channels: 3, background: '#000' } })
    .composite(tiles)
    .jpeg({ quality: 92 })
    .toBuffer();
}
