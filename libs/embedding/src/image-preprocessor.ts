import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { decodeWith, openImage, shrinksOnLoad, type DecodeContext } from '@image-search/image-formats';
import { resizeGeometry, type ImagePreprocessSpec } from './image-spec.js';
import { ItemFailure, type ImageLimits } from './model.types.js';

/** Defaults when the caller sets no limits: 50 MiB of bytes, and PIL's own decompression-bomb error threshold. */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxBytes: 50 * 1024 * 1024, maxPixels: 178_956_970 };

/** The 8-bit RGB image after resize/crop, before normalisation (HWC, row-major). */
export interface PreparedPixels {
  data: Buffer;
  size: number;
  /** Displayed size of the source image (after EXIF orientation). */
  sourceWidth: number;
  sourceHeight: number;
  format: string;
}

/**
 * Decodes (libvips, or libheif/BMP/ICO decoders through @image-search/image-formats), orients,
 * resizes and crops an image with sharp, then normalises it to a [3, S, S] float32 tensor.
 * Geometry, kernel, mean and std come from the model's spec.
 */
export class ImagePreprocessor {
  readonly size: number;
  readonly tensorLength: number;
  // Per-channel lookup tables byte -> normalised float32, computed the way torchvision does
  // ((x / 255 - mean) / std in float32), so equal pixels give bit-identical tensors.
  private readonly lut: [Float32Array, Float32Array, Float32Array];

  constructor(
    readonly spec: ImagePreprocessSpec,
    readonly limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
    /** `ownErrors` where this process decodes one image at a time (a decode worker). */
    private readonly ctx: DecodeContext = {},
  ) {
    this.size = spec.size;
    this.tensorLength = 3 * spec.size * spec.size;
    const f = Math.fround;
    const table = (c: 0 | 1 | 2): Float32Array => {
      const t = new Float32Array(256);
      const mean = f(spec.mean[c]);
      const std = f(spec.std[c]);
      const rescale = f(spec.rescale);
      for (let x = 0; x < 256; x++) {
        const scaled = spec.rescale === 1 / 255 ? f(x / 255) : f(x * rescale);
        t[x] = f(f(scaled - mean) / std);
      }
      return t;
    };
    this.lut = [table(0), table(1), table(2)];
  }

  /** Decodes and preprocesses one encoded image; throws ItemFailure for bad input. */
  async preprocess(bytes: Uint8Array): Promise<Float32Array> {
    const out = new Float32Array(this.tensorLength);
    await this.preprocessInto(bytes, out, 0);
    return out;
  }

  /** Like `preprocess`, writing the tensor into `target` at element `offset` (for building a batch in place). */
  async preprocessInto(bytes: Uint8Array, target: Float32Array, offset: number): Promise<void> {
    const px = await this.preparePixels(bytes);
    this.normalizeInto(px.data, target, offset);
  }

  /** HWC uint8 RGB -> normalised CHW float32, one pass over the pixels. */
  normalizeInto(hwc: Uint8Array, target: Float32Array, offset: number): void {
    const n = this.size * this.size;
    if (hwc.length !== n * 3)
      throw new ItemFailure('CORRUPT_IMAGE', `the decoder returned ${hwc.length} bytes, expected ${n * 3}`);
    if (target.length < offset + 3 * n)
      throw new RangeError(`target tensor too small: need ${offset + 3 * n} elements, have ${target.length}`);
    const [lr, lg, lb] = this.lut;
    const r = offset;
    const g = offset + n;
    const b = offset + 2 * n;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      target[r + i] = lr[hwc[j] as number] as number;
      target[g + i] = lg[hwc[j + 1] as number] as number;
      target[b + i] = lb[hwc[j + 2] as number] as number;
    }
  }

  /** Validates, decodes and resizes to the model's 8-bit RGB square (exposed for diagnostics and `--pixels`). */
  async preparePixels(bytes: Uint8Array): Promise<PreparedPixels> {
    const img = await openImage(bytes, this.limits, this.ctx);
    const { width: w, height: h } = img;
    const geo = resizeGeometry(this.spec, w, h);
    const shrink = this.ctx.shrinkOnLoad ?? 'fast';
    const { data, info } = await decodeWith(img, this.limits, this.ctx, async (open) => {
      let source: Sharp;
      const flatten = this.spec.dropAlpha === 'before' && img.hasAlpha;
      if (flatten || (shrink === 'off' && shrinksOnLoad(img.format))) {
        // sharp drops alpha only after resizing (premultiplied); the reference drops it first, so do that in a pass of its own.
        // srgb here also turns 16-bit and grey+alpha inputs into plain 8-bit RGB, which the raw reload below expects.
        // The same pass, without flattening, is the exact decode (every pixel) that shrink-on-load is measured against.
        const full = flatten ? open(INPUT_OPTIONS).removeAlpha().toColourspace('srgb') : open(INPUT_OPTIONS);
        const flat = await full.raw().toBuffer({ resolveWithObject: true });
        source = sharp(flat.data, {
          raw: { width: flat.info.width, height: flat.info.height, channels: flat.info.channels },
        });
      } else {
        source = open(INPUT_OPTIONS);
      }
      // The centre crop is cut here, not by sharp's extract(): with an EXIF orientation, extract() makes sharp
      // rotate before resizing, which turns JPEG shrink-on-load off (a portrait phone photo then took 3x as long).
      return source
        .resize(geo.width, geo.height, { fit: 'fill', kernel: this.spec.kernel, fastShrinkOnLoad: shrink === 'fast' })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
    });
    if (info.width !== geo.width || info.height !== geo.height || info.channels !== 3) {
      throw new ItemFailure(
        'CORRUPT_IMAGE',
        `the decoder returned ${info.width}x${info.height}x${info.channels}, expected ${geo.width}x${geo.height}x3`,
      );
    }
    const square = cropSquare(data, info.width, geo.left, geo.top, this.size);
    return { data: square, size: this.size, sourceWidth: w, sourceHeight: h, format: img.format };
  }
}

/** The `size` x `size` square at (left, top) of an RGB image `width` pixels wide (the image itself when it is that square). */
function cropSquare(rgb: Buffer, width: number, left: number, top: number, size: number): Buffer {
  if (width === size && rgb.length === size * size * 3) return rgb;
  const height = rgb.length / (width * 3);
  if (left < 0 || top < 0 || left + size > width || top + size > height)
    throw new RangeError(`crop ${size}x${size} at ${left},${top} does not fit ${width}x${height}`);
  const out = Buffer.allocUnsafe(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * width + left) * 3;
    rgb.copy(out, y * size * 3, from, from + size * 3);
  }
  return out;
}

const INPUT_OPTIONS: SharpOptions = {
  autoOrient: true,
  // The references do not colour-manage (PIL ignores ICC); converting profiles moves some images to cosine ~0.98.
  ignoreIcc: true,
  // 'error' refuses truncated and broken data; decodeWith makes JPEG stricter where errors are this process's own.
  failOn: 'error',
  sequentialRead: true,
};
