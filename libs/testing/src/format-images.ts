import { readFileSync } from 'node:fs';
import sharp from 'sharp';

/** The quadrant test pattern: red | green / blue | white. */
export const QUAD = { tl: [255, 0, 0], tr: [0, 255, 0], bl: [0, 0, 255], br: [255, 255, 255] } as const;

/** RGB pixels of the quadrant pattern. */
export function quadPixels(w: number, h: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      b.set(y < h / 2 ? (x < w / 2 ? QUAD.tl : QUAD.tr) : x < w / 2 ? QUAD.bl : QUAD.br, (y * w + x) * 3);
  return b;
}

/**
 * A BMP written field by field from the format's specification (BITMAPFILEHEADER + BITMAPINFOHEADER,
 * BI_RGB, rows padded to 4 bytes, bottom-up unless `topDown`). 32-bit rows carry a zero fourth byte,
 * as most writers of BI_RGB leave it.
 */
export function writeBmp(w: number, h: number, rgb: Buffer, opts: { bits?: 24 | 32; topDown?: boolean } = {}): Buffer {
  const bits = opts.bits ?? 24;
  const bpp = bits / 8;
  const stride = Math.ceil((w * bpp) / 4) * 4;
  const out = Buffer.alloc(54 + stride * h);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(w, 18);
  out.writeInt32LE(opts.topDown ? -h : h, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bits, 28);
  out.writeUInt32LE(0, 30);
  out.writeUInt32LE(stride * h, 34);
  for (let y = 0; y < h; y++) {
    const row = 54 + (opts.topDown ? y : h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      out[row + x * bpp] = rgb[s + 2]!;
      out[row + x * bpp + 1] = rgb[s + 1]!;
      out[row + x * bpp + 2] = rgb[s]!;
    }
  }
  return out;
}

/** An ICO holding the given images, each stored as PNG (as Vista-and-later icons store large sizes). */
export async function writeIco(images: { w: number; h: number; rgb: Buffer }[]): Promise<Buffer> {
  const pngs = await Promise.all(
    images.map((i) =>
      sharp(i.rgb, { raw: { width: i.w, height: i.h, channels: 3 } })
        .png()
        .toBuffer(),
    ),
  );
  const head = Buffer.alloc(6 + 16 * images.length);
  head.writeUInt16LE(1, 2);
  head.writeUInt16LE(images.length, 4);
  let offset = head.length;
  images.forEach((img, i) => {
    const e = 6 + 16 * i;
    head[e] = img.w >= 256 ? 0 : img.w;
    head[e + 1] = img.h >= 256 ? 0 : img.h;
    head.writeUInt16LE(1, e + 4);
    head.writeUInt16LE(32, e + 6);
    head.writeUInt32LE(pngs[i]!.length, e + 8);
    head.writeUInt32LE(offset, e + 12);
    offset += pngs[i]!.length;
  });
  return Buffer.concat([head, ...pngs]);
}

/** A little-endian TIFF header whose IFD0 holds the given tags (ASCII values), as RAW files start. */
export function tiffWithTags(tags: { tag: number; ascii?: string; short?: number }[], magic = 'II*\0'): Buffer {
  const ifd = 8;
  const data = ifd + 2 + tags.length * 12 + 4;
  const extra: Buffer[] = [];
  let at = data;
  const out = Buffer.alloc(data);
  out.write(magic, 0, 'latin1');
  out.writeUInt32LE(ifd, 4);
  out.writeUInt16LE(tags.length, ifd);
  tags.forEach((t, i) => {
    const e = ifd + 2 + i * 12;
    out.writeUInt16LE(t.tag, e);
    if (t.ascii !== undefined) {
      const s = Buffer.from(`${t.ascii}\0`, 'latin1');
      out.writeUInt16LE(2, e + 2);
      out.writeUInt32LE(s.length, e + 4);
      if (s.length <= 4) s.copy(out, e + 8);
      else {
        out.writeUInt32LE(at, e + 8);
        extra.push(s);
        at += s.length;
      }
    } else {
      out.writeUInt16LE(3, e + 2);
      out.writeUInt32LE(1, e + 4);
      out.writeUInt16LE(t.short ?? 0, e + 8);
    }
  });
  return Buffer.concat([out, ...extra, Buffer.alloc(64)]);
}

/** A JPEG whose headers are valid but whose entropy-coded data is random bytes (0xFF unescaped, as in any overwritten file). */
export async function garbageJpeg(seed: number): Promise<Buffer> {
  const noise = Buffer.alloc(256 * 256 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
  const jpg = await sharp(noise, { raw: { width: 256, height: 256, channels: 3 } })
    .jpeg()
    .toBuffer();
  let p = 2;
  while (p < jpg.length) {
    const len = jpg.readUInt16BE(p + 2);
    const marker = jpg[p + 1];
    p += 2 + len;
    if (marker === 0xda) break;
  }
  const junk = Buffer.alloc(jpg.length - p - 2);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < junk.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    junk[i] = x >>> 24;
  }
  return Buffer.concat([jpg.subarray(0, p), junk, Buffer.from([0xff, 0xd9])]);
}

/** The colour at a few pixels in from each corner of decoded RGB(A) pixels. */
export function corners(data: Buffer, w: number, h: number, channels: number) {
  const at = (x: number, y: number) => [...data.subarray((y * w + x) * channels, (y * w + x) * channels + 3)];
  const m = Math.max(1, Math.floor(Math.min(w, h) / 8));
  return { tl: at(m, m), tr: at(w - 1 - m, m), bl: at(m, h - 1 - m), br: at(w - 1 - m, h - 1 - m) };
}

/** The HEIC written by a real encoder (heif-enc/x265; fixtures/make-fixtures.sh): iPhone-style irot + EXIF orientation 6, two images. */
export function heicFixture(): Buffer {
  return readFileSync(new URL('../fixtures/iphone-like.heic', import.meta.url));
}
