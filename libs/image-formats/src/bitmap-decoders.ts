import decodeBmp from 'decode-bmp';
import decodeIco from 'decode-ico';
import { ItemFailure } from './item-errors.js';

/** Decoded 8-bit RGB(A) pixels, top row first, or an embedded PNG for libvips to read. */
export type BitmapPixels =
  | { kind: 'raw'; data: Buffer; width: number; height: number; channels: 3 | 4 }
  | { kind: 'png'; data: Buffer; width: number; height: number };

/** Header facts of a BMP: its size and how it is stored. */
export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  depth: number;
  compression: number;
}

/** Reads the BITMAPINFOHEADER (every BMP variant since Windows 3 starts with it). */
export function readBmpHeader(b: Uint8Array): BmpHeader {
  if (b.length < 54) throw new ItemFailure('CORRUPT_IMAGE', 'bmp: the header is truncated');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dib = v.getUint32(14, true);
  if (dib === 12 || dib === 64) throw new ItemFailure('UNSUPPORTED_FORMAT', 'bmp with an OS/2 header');
  if (dib < 40) throw new ItemFailure('CORRUPT_IMAGE', `bmp: header size ${dib}`);
  const h = v.getInt32(22, true);
  return {
    width: v.getInt32(18, true),
    height: Math.abs(h),
    topDown: h < 0,
    depth: v.getUint16(28, true),
    compression: v.getUint32(30, true),
  };
}

/**
 * BMP through decode-bmp (pure JS; libvips in sharp's prebuilt has no BMP loader). decode-bmp
 * reads uncompressed bottom-up bitmaps of 1/2/4/8/24/32 bits, which is what cameras, scanners and
 * Windows write; RLE and bit-field variants are refused by name. Top-down files are read with the
 * height made positive and their rows put back in order afterwards.
 */
export function decodeBmpFile(bytes: Uint8Array, hdr: BmpHeader): BitmapPixels {
  if (hdr.compression !== 0 && !(hdr.compression === 3 && hdr.depth === 32))
    throw new ItemFailure('UNSUPPORTED_FORMAT', `bmp with compression ${hdr.compression} (RLE or bit fields)`);
  if (![1, 2, 4, 8, 24, 32].includes(hdr.depth))
    throw new ItemFailure('UNSUPPORTED_FORMAT', `bmp of ${hdr.depth} bits per pixel`);
  let input = bytes;
  if (hdr.topDown) {
    input = Uint8Array.from(bytes);
    new DataView(input.buffer).setInt32(22, hdr.height, true);
  }
  let img: { data: Uint8ClampedArray; width: number; height: number };
  try {
    img = decodeBmp(input);
  } catch (err) {
    throw new ItemFailure('CORRUPT_IMAGE', 'bmp', err);
  }
  let data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  // Rows flipped here rather than by libvips' flip, which is not exact under a later resampling.
  if (hdr.topDown) data = flipRows(data, img.width * 4, img.height);
  opaqueIfAlphaUnused(data, hdr.depth);
  return { kind: 'raw', ...dropOpaqueAlpha(data), width: img.width, height: img.height };
}

/** RGBA whose alpha is 255 everywhere becomes RGB, so it takes the same path as any opaque image. */
function dropOpaqueAlpha(rgba: Buffer): { data: Buffer; channels: 3 | 4 } {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return { data: rgba, channels: 4 };
  const rgb = Buffer.allocUnsafe((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { data: rgb, channels: 3 };
}

function flipRows(data: Buffer, row: number, height: number): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let y = 0; y < height; y++) data.copy(out, (height - 1 - y) * row, y * row, (y + 1) * row);
  return out;
}

/** 32-bit BI_RGB bitmaps usually leave the fourth byte 0 ("unused"): all-zero alpha means opaque, not invisible. */
function opaqueIfAlphaUnused(rgba: Buffer, depth: number): void {
  if (depth !== 32) return;
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 0) return;
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
}

/** The largest entry of an ICO/CUR directory (0 in a size byte means 256). */
export function readIcoHeader(b: Uint8Array): { width: number; height: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint16(4, true);
  if (b.length < 6 + 16 * n) throw new ItemFailure('CORRUPT_IMAGE', 'ico: the image list is truncated');
  let best = { width: 0, height: 0 };
  for (let i = 0; i < n; i++) {
    const e = 6 + 16 * i;
    let width = b[e] || 256;
    let height = b[e + 1] || 256;
    const offset = v.getUint32(e + 12, true);
    // A PNG entry's real size is in its IHDR (the directory caps at 256).
    if (offset + 24 <= b.length && v.getUint32(offset) === 0x89504e47) {
      width = v.getUint32(offset + 16);
      height = v.getUint32(offset + 20);
    }
    if (width * height > best.width * best.height) best = { width, height };
  }
  return best;
}

/** ICO/CUR through decode-ico: the largest image of the icon (the one closest to a photo's detail), best colour depth on ties. */
export function decodeIcoFile(bytes: Uint8Array): BitmapPixels {
  let entries: ReturnType<typeof decodeIco>;
  try {
    entries = decodeIco(bytes);
  } catch (err) {
    throw new ItemFailure('CORRUPT_IMAGE', 'ico', err);
  }
  const best = [...entries].sort((a, b) => b.width * b.height - a.width * a.height || b.bpp - a.bpp)[0];
  if (!best) throw new ItemFailure('CORRUPT_IMAGE', 'ico: the icon holds no image');
  if (best.type === 'png') return { kind: 'png', data: Buffer.from(best.data), width: best.width, height: best.height };
  const data = Buffer.from(best.data.buffer, best.data.byteOffset, best.data.byteLength);
  opaqueIfAlphaUnused(data, best.bpp);
  return { kind: 'raw', ...dropOpaqueAlpha(data), width: best.width, height: best.height };
}
