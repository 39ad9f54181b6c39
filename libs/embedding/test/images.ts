// Synthetic test images made with sharp, and hand-made malformed files.
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A solid-colour image encoded in `format`. */
export async function solid(
  width: number,
  height: number,
  rgb: [number, number, number],
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' = 'png',
): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  switch (format) {
    case 'jpeg':
      return img.jpeg({ quality: 95 }).toBuffer();
    case 'webp':
      return img.webp({ lossless: true }).toBuffer();
    case 'gif':
      return img.gif().toBuffer();
    case 'tiff':
      return img.tiff().toBuffer();
    case 'avif':
      return img.avif({ lossless: true }).toBuffer();
    case 'png':
      return img.png().toBuffer();
  }
}

/** Raw RGB(A) pixels of `w`x`h` filled by `fn(x, y)`. */
export function rawImage(w: number, h: number, channels: 3 | 4, fn: (x: number, y: number) => number[]): Buffer {
  const b = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set(fn(x, y), (y * w + x) * channels);
  return b;
}

/** Left half `a`, right half `b`. */
export function halves(w: number, h: number, a: number[], b: number[], channels: 3 | 4 = 3): Buffer {
  return rawImage(w, h, channels, (x) => (x < w / 2 ? a : b));
}

/** One PNG chunk with its length and CRC. */
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** A ~100-byte PNG whose header declares `w`x`h` pixels (a decompression bomb, as far as the header goes). */
export function pngBomb(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Grey image stored as 16-bit PNG with value `v16` everywhere. */
export function grey16Png(w: number, h: number, v16: number): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 2);
  for (let i = 0; i < w * h; i++) raw.writeUInt16LE(v16, i * 2);
  return sharp(new Uint16Array(raw.buffer, raw.byteOffset, w * h), { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
}
