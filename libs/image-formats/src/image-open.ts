import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { decodeBmpFile, decodeIcoFile, readBmpHeader, readIcoHeader, type BitmapPixels } from './bitmap-decoders.js';
import { decodeHeif, readHeifHeader } from './heif-decoder.js';
import { sniffImage } from './image-sniff.js';
import { ACCEPTED_FORMATS_TEXT, ItemFailure } from './item-errors.js';

/** Limits applied to image inputs before and during decoding. */
export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

/** How a caller decodes. */
export interface DecodeContext {
  /**
   * True where this process decodes one image at a time (a decode worker): libvips keeps one
   * error buffer per process, so only then is its text this image's own and may reach the message.
   */
  ownErrors?: boolean;
  /**
   * How much of a large JPEG's (or WebP's) downscale its decoder may do while decoding (libjpeg's DCT
   * scaling, libwebp's scaler): `fast` is sharp's default, `safe` leaves the resize kernel at least a 2x
   * reduction, `off` decodes every pixel first (the exact path the others are measured against). The
   * default, `fast`, was measured within cosine 0.999 of `off` (docs/benchmarks/decode.md).
   */
  shrinkOnLoad?: ShrinkOnLoad;
}

/** Whether and how far a JPEG or WebP is downscaled by its decoder (see DecodeContext). */
export type ShrinkOnLoad = 'fast' | 'safe' | 'off';

/** Formats whose libvips loader can downscale while decoding (sharp uses it for JPEG and WebP). */
export function shrinksOnLoad(format: string): boolean {
  return format === 'jpeg' || format === 'webp';
}

/** What the header says, checked against the limits (nothing decoded yet). */
export interface ImageHeader {
  /** jpeg, png, webp, gif, tiff, avif, heic, bmp, ico */
  format: string;
  /** Displayed size (after EXIF orientation or HEIF transformations). */
  width: number;
  height: number;
  hasAlpha: boolean;
  /** Raw EXIF block where libvips reads one (JPEG, PNG, WebP, TIFF, HEIF). */
  exif?: Buffer;
  /** Which decoder reads the pixels. */
  decoder: 'libvips' | 'libheif' | 'bmp' | 'ico';
}

/** An image ready for a sharp pipeline: `pipeline()` gives a fresh Sharp over its (oriented) pixels. */
export interface OpenedImage extends ImageHeader {
  /** `options` apply to libvips inputs (autoOrient, ignoreIcc…); decoded pixels are already oriented. */
  pipeline(options?: SharpOptions): Sharp;
}

const unsupported = (format: string) =>
  new ItemFailure('UNSUPPORTED_FORMAT', `${format}; accepted: ${ACCEPTED_FORMATS_TEXT}`);

/** Maps a libvips (sharp) failure to a reason; its text is kept only when it is this image's own. */
export function classifyLibvipsError(
  err: unknown,
  format: string,
  limits: ImageLimits,
  ctx: DecodeContext,
): ItemFailure {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg))
    return new ItemFailure('TOO_MANY_PIXELS', `${format}; limit ${limits.maxPixels} (MAX_IMAGE_PIXELS)`);
  return new ItemFailure('CORRUPT_IMAGE', format, ctx.ownErrors ? msg : undefined);
}

function checkSize(format: string, w: number, h: number, limits: ImageLimits): void {
  if (!(w > 0 && h > 0))
    throw new ItemFailure('CORRUPT_IMAGE', `${format}: the header gives no usable size (${w}x${h})`);
  if (w * h > limits.maxPixels)
    throw new ItemFailure(
      'TOO_MANY_PIXELS',
      `${format}, ${w}x${h} = ${w * h} pixels; limit ${limits.maxPixels} (MAX_IMAGE_PIXELS)`,
    );
}

/**
 * Reads and checks the header: empty, too many bytes, not an image, a format we do not take,
 * a header that cannot be read, or too many pixels all fail here with their reason, before any
 * pixel is decoded. The gateway's upload pre-check, ingest and the embedders all call this, so
 * they refuse the same files with the same words.
 */
export async function inspectImage(
  bytes: Uint8Array,
  limits: ImageLimits,
  ctx: DecodeContext = {},
): Promise<ImageHeader> {
  if (bytes.length === 0) throw new ItemFailure('EMPTY_INPUT', '0 bytes');
  if (bytes.length > limits.maxBytes)
    throw new ItemFailure('INPUT_TOO_LARGE', `${bytes.length} bytes; limit ${limits.maxBytes} (MAX_IMAGE_BYTES)`);
  const sniffed = sniffImage(bytes);
  if (sniffed.kind === 'unsupported') throw unsupported(sniffed.format);
  if (sniffed.kind === 'unknown') throw new ItemFailure('NOT_AN_IMAGE', 'no known image signature');
  const format = sniffed.format;
  if (format === 'bmp') {
    const h = readBmpHeader(bytes);
    checkSize('bmp', h.width, h.height, limits);
    // Alpha is known only once decoded (most 32-bit BMPs leave it unused); the decoder reports it.
    return { format, width: h.width, height: h.height, hasAlpha: false, decoder: 'bmp' };
  }
  if (format === 'ico') {
    const h = readIcoHeader(bytes);
    checkSize('ico', h.width, h.height, limits);
    return { format, width: h.width, height: h.height, hasAlpha: false, decoder: 'ico' };
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (err) {
    throw classifyLibvipsError(err, format, limits, ctx);
  }
  if (format === 'heif' && meta.compression === 'hevc') {
    const h = readHeifHeader(bytes);
    checkSize('heic', h.width, h.height, limits);
    return {
      format: 'heic',
      width: h.width,
      height: h.height,
      hasAlpha: h.hasAlpha,
      decoder: 'libheif',
      exif: meta.exif,
    };
  }
  if (format === 'heif' && meta.compression !== 'av1') throw unsupported(`heif/${meta.compression ?? 'unknown'}`);
  const name = format === 'heif' ? 'avif' : format;
  if (meta.format === 'svg') throw unsupported('svg');
  const { width: w, height: h } = meta.autoOrient ?? { width: meta.width, height: meta.height };
  checkSize(name, w, h, limits);
  return { format: name, width: w, height: h, hasAlpha: !!meta.hasAlpha, decoder: 'libvips', exif: meta.exif };
}

function fromBitmap(px: BitmapPixels, limitInputPixels: number): Sharp {
  if (px.kind === 'png') return sharp(px.data, { limitInputPixels, failOn: 'error' });
  return sharp(px.data, { raw: { width: px.width, height: px.height, channels: px.channels } });
}

/**
 * Inspects, then decodes what libvips cannot (HEIC through libheif, BMP, ICO) into pixels that
 * a sharp pipeline takes. libvips formats stay encoded and are decoded by the caller's pipeline.
 */
export async function openImage(bytes: Uint8Array, limits: ImageLimits, ctx: DecodeContext = {}): Promise<OpenedImage> {
  const header = await inspectImage(bytes, limits, ctx);
  const limitInputPixels = limits.maxPixels;
  switch (header.decoder) {
    case 'libvips':
      return {
        ...header,
        pipeline: (options) => sharp(bytes, { failOn: 'error', ...options, limitInputPixels }),
      };
    case 'libheif': {
      const px = decodeHeif(bytes);
      const raw = { width: px.width, height: px.height, channels: px.channels };
      return { ...header, pipeline: () => sharp(px.data, { raw }) };
    }
    case 'bmp':
    case 'ico': {
      const px = header.decoder === 'bmp' ? decodeBmpFile(bytes, readBmpHeader(bytes)) : decodeIcoFile(bytes);
      const hasAlpha = px.kind === 'raw' ? px.channels === 4 : (await sharp(px.data).metadata()).hasAlpha;
      return { ...header, hasAlpha, pipeline: () => fromBitmap(px, limitInputPixels) };
    }
  }
}

// libjpeg's one warning that harmless camera and editor files commonly raise (padding before a marker).
const HARMLESS_JPEG_WARNING = /extraneous bytes before marker/i;

/**
 * Runs a pipeline over an opened image and classifies its failure. A JPEG is decoded with
 * libjpeg's corrupt-data warnings as errors (a valid header over garbage entropy data decodes to
 * noise otherwise: "bad Huffman code", "premature end of data segment"), retried with warnings
 * tolerated only when the harmless one is all there is (libvips repeats it once per header read). Where the error text may be another
 * decode's (not `ownErrors`), the retry is taken whenever the harmless warning appears in it.
 */
export async function decodeWith<T>(
  img: OpenedImage,
  limits: ImageLimits,
  ctx: DecodeContext,
  run: (pipeline: (options?: SharpOptions) => Sharp) => Promise<T>,
): Promise<T> {
  const strict = img.format === 'jpeg';
  try {
    return await run((o) => img.pipeline(strict ? { ...o, failOn: 'warning' } : o));
  } catch (err) {
    const text = err instanceof Error ? err.message : '';
    const harmless = ctx.ownErrors
      ? text
          .split('\n')
          .filter((l) => l.trim())
          .every((l) => HARMLESS_JPEG_WARNING.test(l))
      : HARMLESS_JPEG_WARNING.test(text);
    if (strict && harmless) {
      try {
        return await run((o) => img.pipeline(o));
      } catch (again) {
        throw classifyLibvipsError(again, img.format, limits, ctx);
      }
    }
    throw err instanceof ItemFailure ? err : classifyLibvipsError(err, img.format, limits, ctx);
  }
}
