import { createRequire } from 'node:module';
import { ItemFailure } from './item-errors.js';

/** The parts of libheif-js's embind API used here (the package ships no types for its entry). */
interface HeifError {
  code: unknown;
  message: string;
}
interface HeifChannel {
  id: unknown;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}
interface LibHeif {
  heif_error_code: { heif_error_Ok: unknown };
  heif_colorspace: { heif_colorspace_RGB: unknown };
  heif_chroma: { heif_chroma_interleaved_RGB: unknown; heif_chroma_interleaved_RGBA: unknown };
  heif_channel: { heif_channel_interleaved: unknown };
  heif_context_alloc(): unknown;
  heif_context_free(ctx: unknown): void;
  heif_context_read_from_memory(ctx: unknown, data: Uint8Array): HeifError;
  heif_js_context_get_primary_image_handle(ctx: unknown): unknown;
  heif_image_handle_get_width(h: unknown): number;
  heif_image_handle_get_height(h: unknown): number;
  heif_image_handle_has_alpha_channel(h: unknown): number;
  heif_image_handle_release(h: unknown): void;
  heif_js_decode_image2(
    h: unknown,
    cs: unknown,
    chroma: unknown,
  ): { image: unknown; channels: HeifChannel[] } | HeifError | null;
  heif_image_release(img: unknown): void;
}

let lib: LibHeif | undefined;
/** libheif 1.23 with libde265, compiled to wasm (libheif-js); loaded on first use (~2 MB of JS to parse). */
function libheif(): LibHeif {
  lib ??= createRequire(import.meta.url)('libheif-js/wasm-bundle') as LibHeif;
  return lib;
}

/** Loads libheif now (decode workers do at start, so the first HEIC's budget is not spent parsing 2 MB of JS). */
export function preloadHeifDecoder(): void {
  libheif();
}

const isError = (x: unknown): x is HeifError => !!x && typeof x === 'object' && 'code' in x && 'message' in x;

/** Size and alpha of the primary image, after libheif's transformations (irot/imir/clap). */
export interface HeifHeader {
  width: number;
  height: number;
  hasAlpha: boolean;
}

/** The primary image's pixels, interleaved 8-bit RGB or RGBA, already rotated/mirrored as the file says. */
export interface HeifPixels extends HeifHeader {
  data: Buffer;
  channels: 3 | 4;
}

/**
 * Reads the primary image of a HEIF file with libheif. libheif applies the file's own
 * transformations (irot, imir, clap), so the pixels come out as displayed; the EXIF orientation
 * that iPhones also write describes the same rotation and must not be applied again (HEIF says
 * the transformation properties govern). Errors are this call's own (wasm, synchronous), so one
 * line of libheif's message may reach the item's message.
 */
function withPrimary<T>(bytes: Uint8Array, use: (h: unknown, heif: LibHeif) => T): T {
  const heif = libheif();
  const ctx = heif.heif_context_alloc();
  try {
    const read = heif.heif_context_read_from_memory(ctx, bytes);
    if (read.code !== heif.heif_error_code.heif_error_Ok) throw new ItemFailure('CORRUPT_IMAGE', 'heic', read.message);
    const handle = heif.heif_js_context_get_primary_image_handle(ctx);
    if (!handle || isError(handle))
      throw new ItemFailure('CORRUPT_IMAGE', 'heic: no primary image', isError(handle) ? handle.message : undefined);
    try {
      return use(handle, heif);
    } finally {
      heif.heif_image_handle_release(handle);
    }
  } finally {
    heif.heif_context_free(ctx);
  }
}

/** The primary image's displayed size, without decoding it. */
export function readHeifHeader(bytes: Uint8Array): HeifHeader {
  return withPrimary(bytes, (h, heif) => ({
    width: heif.heif_image_handle_get_width(h),
    height: heif.heif_image_handle_get_height(h),
    hasAlpha: !!heif.heif_image_handle_has_alpha_channel(h),
  }));
}

/** Decodes the primary image (call only after checking its size against the pixel limit). */
export function decodeHeif(bytes: Uint8Array): HeifPixels {
  return withPrimary(bytes, (h, heif) => {
    const hasAlpha = !!heif.heif_image_handle_has_alpha_channel(h);
    const channels = hasAlpha ? 4 : 3;
    const chroma = hasAlpha
      ? heif.heif_chroma.heif_chroma_interleaved_RGBA
      : heif.heif_chroma.heif_chroma_interleaved_RGB;
    const img = heif.heif_js_decode_image2(h, heif.heif_colorspace.heif_colorspace_RGB, chroma);
    if (!img || isError(img))
      throw new ItemFailure('CORRUPT_IMAGE', 'heic', isError(img) ? img.message : 'the decoder returned no image');
    try {
      const plane = img.channels.find((c) => c.id === heif.heif_channel.heif_channel_interleaved);
      if (!plane) throw new ItemFailure('CORRUPT_IMAGE', 'heic: the decoder returned no interleaved plane');
      const row = plane.width * channels;
      let data: Buffer;
      // Copied out before heif_image_release frees the wasm memory the plane may point into.
      if (plane.stride === row) data = Buffer.from(plane.data.subarray(0, row * plane.height));
      else {
        data = Buffer.allocUnsafe(row * plane.height);
        for (let y = 0; y < plane.height; y++)
          data.set(plane.data.subarray(y * plane.stride, y * plane.stride + row), y * row);
      }
      return { data, width: plane.width, height: plane.height, hasAlpha, channels };
    } finally {
      heif.heif_image_release(img.image);
    }
  });
}
