import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { resizeGeometry, type ImagePreprocessSpec } from './image-spec.js';
import { ACCEPTED_FORMATS, sniffImage } from './image-sniff.js';
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
 * Decodes, orients, resizes and crops an image with libvips (sharp), then normalises it to a
 * [3, S, S] float32 tensor. Geometry, kernel, mean and std come from the model's spec.
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
      throw new ItemFailure('CORRUPT_IMAGE', `decoder returned ${hwc.length} bytes, expected ${n * 3}`);
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
    if (bytes.length === 0) throw new ItemFailure('EMPTY_INPUT', 'the image is empty (0 bytes)');
    if (bytes.length > this.limits.maxBytes) {
      throw new ItemFailure(
        'INPUT_TOO_LARGE',
        `the image is ${bytes.length} bytes, over the limit of ${this.limits.maxBytes} (MAX_IMAGE_BYTES)`,
      );
    }
    const meta = await this.readMetadata(bytes);
    const format = meta.format === 'heif' ? `heif/${meta.compression ?? 'unknown'}` : meta.format;
    if (!ACCEPTED_FORMATS.has(meta.format) || (meta.format === 'heif' && meta.compression !== 'av1')) {
      throw new ItemFailure(
        'UNSUPPORTED_FORMAT',
        `image format ${format} is not supported (accepted: JPEG, PNG, WebP, GIF, TIFF, AVIF)`,
      );
    }
    const { width: w, height: h } = meta.autoOrient ?? { width: meta.width, height: meta.height };
    if (!(w > 0 && h > 0)) throw new ItemFailure('CORRUPT_IMAGE', `image header gives no usable size (${w}x${h})`);
    if (w * h > this.limits.maxPixels) {
      throw new ItemFailure(
        'TOO_MANY_PIXELS',
        `the image is ${w}x${h} = ${w * h} pixels, over the limit of ${this.limits.maxPixels} (MAX_IMAGE_PIXELS)`,
      );
    }
    const geo = resizeGeometry(this.spec, w, h);
    let source: Sharp;
    if (this.spec.dropAlpha === 'before' && meta.hasAlpha) {
      // sharp drops alpha only after resizing (premultiplied); the reference drops it first, so do that in a pass of its own.
      // srgb here also turns 16-bit and grey+alpha inputs into plain 8-bit RGB, which the raw reload below expects.
      const flat = await this.decode(
        sharp(bytes, this.inputOptions())
          .removeAlpha()
          .toColourspace('srgb')
          .raw()
          .toBuffer({ resolveWithObject: true }),
      );
      source = sharp(flat.data, {
        raw: { width: flat.info.width, height: flat.info.height, channels: flat.info.channels },
      });
    } else {
      source = sharp(bytes, this.inputOptions());
    }
    let pipeline = source.resize(geo.width, geo.height, { fit: 'fill', kernel: this.spec.kernel });
    if (geo.width !== this.size || geo.height !== this.size) {
      pipeline = pipeline.extract({ left: geo.left, top: geo.top, width: this.size, height: this.size });
    }
    const { data, info } = await this.decode(
      pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true }),
    );
    if (info.width !== this.size || info.height !== this.size || info.channels !== 3) {
      throw new ItemFailure(
        'CORRUPT_IMAGE',
        `decoder returned ${info.width}x${info.height}x${info.channels}, expected ${this.size}x${this.size}x3`,
      );
    }
    return { data, size: this.size, sourceWidth: w, sourceHeight: h, format };
  }

  private inputOptions(): SharpOptions {
    return {
      autoOrient: true,
      // The references do not colour-manage (PIL ignores ICC); converting profiles moves some images to cosine ~0.98.
      ignoreIcc: true,
      // 'error' refuses truncated and broken data but tolerates the harmless warnings common in camera JPEGs.
      failOn: 'error',
      limitInputPixels: this.limits.maxPixels,
      sequentialRead: true,
    };
  }

  private async readMetadata(bytes: Uint8Array): Promise<Metadata> {
    const sniffed = sniffImage(bytes);
    if (sniffed.kind === 'unsupported') {
      throw new ItemFailure(
        'UNSUPPORTED_FORMAT',
        `image format ${sniffed.format} is not supported (accepted: JPEG, PNG, WebP, GIF, TIFF, AVIF)`,
      );
    }
    try {
      return await sharp(bytes, { limitInputPixels: false, failOn: 'error' }).metadata();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (sniffed.kind === 'accepted')
        throw new ItemFailure('CORRUPT_IMAGE', `the ${sniffed.format} image is damaged or truncated: ${msg}`);
      throw new ItemFailure('NOT_AN_IMAGE', 'the input is not an image (no known image signature)');
    }
  }

  private async decode<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/pixel limit/i.test(msg))
        throw new ItemFailure(
          'TOO_MANY_PIXELS',
          `the image is over the pixel limit of ${this.limits.maxPixels}: ${msg}`,
        );
      throw new ItemFailure(
        'CORRUPT_IMAGE',
        `the image could not be decoded (damaged or truncated): ${firstLine(msg)}`,
      );
    }
  }
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim().length > 0)
      ?.trim() ?? s
  );
}
