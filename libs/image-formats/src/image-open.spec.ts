import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  corners,
  garbageJpeg,
  heicFixture,
  QUAD,
  quadPixels,
  tiffWithTags,
  writeBmp,
  writeIco,
} from '@image-search/testing';
import { decodeWith, inspectImage, openImage, type ImageLimits } from './image-open.js';
import { ItemFailure } from './item-errors.js';

const LIMITS: ImageLimits = { maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000 };
const HEIC = heicFixture();

async function pixels(bytes: Uint8Array, limits = LIMITS) {
  const img = await openImage(bytes, limits, { ownErrors: true });
  const out = await decodeWith(img, limits, { ownErrors: true }, (p) =>
    p({ autoOrient: true }).removeAlpha().raw().toBuffer({ resolveWithObject: true }),
  );
  return { img, ...out, corners: corners(out.data, out.info.width, out.info.height, out.info.channels) };
}

function near(actual: number[], expected: readonly number[]): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `${actual} vs ${expected}`).toBeLessThan(40));
}

async function failure(p: Promise<unknown>): Promise<ItemFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ItemFailure);
  return err as ItemFailure;
}

describe('HEIC (libheif wasm, fixture from heif-enc/x265 with irot + EXIF orientation 6)', () => {
  it('decodes the primary image, rotated once by its irot (the EXIF orientation is not applied again), colours right', async () => {
    const r = await pixels(HEIC);
    expect(r.img).toMatchObject({ format: 'heic', width: 48, height: 64, decoder: 'libheif' });
    expect([r.info.width, r.info.height, r.info.channels]).toEqual([48, 64, 3]);
    // 90° clockwise: the source's bottom-left (blue) is now top-left.
    near(r.corners.tl, QUAD.bl);
    near(r.corners.tr, QUAD.tl);
    near(r.corners.bl, QUAD.br);
    near(r.corners.br, QUAD.tr);
  });

  it('refuses a truncated HEIC as CORRUPT_IMAGE', async () => {
    const f = await failure(openImage(HEIC.subarray(0, HEIC.length - 300), LIMITS));
    expect(f.reason).toBe('CORRUPT_IMAGE');
    expect(f.message).toMatch(/^CORRUPT_IMAGE: the image data is damaged or truncated \(heif\)$/);
  });

  it('checks the pixel limit from the header', async () => {
    const f = await failure(inspectImage(HEIC, { ...LIMITS, maxPixels: 1000 }));
    expect(f.message).toBe(
      'TOO_MANY_PIXELS: the image has more pixels than allowed (heic, 48x64 = 3072 pixels; limit 1000 (MAX_IMAGE_PIXELS))',
    );
  });
});

describe('BMP and ICO (pure-JS decoders)', () => {
  const rgb = quadPixels(40, 30);
  for (const [name, bmp] of [
    ['24-bit bottom-up', writeBmp(40, 30, rgb)],
    ['24-bit top-down', writeBmp(40, 30, rgb, { topDown: true })],
    ['32-bit with the unused fourth byte 0', writeBmp(40, 30, rgb, { bits: 32 })],
  ] as const) {
    it(`decodes a ${name} BMP upright and opaque`, async () => {
      const r = await pixels(bmp);
      expect(r.img).toMatchObject({ format: 'bmp', width: 40, height: 30 });
      near(r.corners.tl, QUAD.tl);
      near(r.corners.tr, QUAD.tr);
      near(r.corners.bl, QUAD.bl);
      near(r.corners.br, QUAD.br);
    });
  }

  it('decodes the largest image of an ICO', async () => {
    const ico = await writeIco([
      { w: 16, h: 16, rgb: Buffer.alloc(16 * 16 * 3, 128) },
      { w: 64, h: 48, rgb: quadPixels(64, 48) },
    ]);
    const r = await pixels(ico);
    expect([r.info.width, r.info.height]).toEqual([64, 48]);
    near(r.corners.tl, QUAD.tl);
    near(r.corners.br, QUAD.br);
  });

  it('refuses a BMP whose pixel rows are missing as CORRUPT_IMAGE', async () => {
    const f = await failure(pixels(writeBmp(40, 30, rgb).subarray(0, 500)));
    expect(f.reason).toBe('CORRUPT_IMAGE');
  });
});

describe('refusals', () => {
  const raws: [string, Buffer][] = [
    [
      'dng',
      tiffWithTags([
        { tag: 0x010f, ascii: 'Apple' },
        { tag: 0xc612, short: 1 },
      ]),
    ],
    ['nef', tiffWithTags([{ tag: 0x010f, ascii: 'NIKON CORPORATION' }])],
    ['arw', tiffWithTags([{ tag: 0x010f, ascii: 'SONY' }])],
    ['cr2', Buffer.concat([Buffer.from('II*\0\x10\0\0\0CR\x02\0', 'latin1'), Buffer.alloc(64)])],
    ['cr3', Buffer.concat([Buffer.from('\0\0\0\x18ftypcrx \0\0\0\x01crx isom', 'latin1'), Buffer.alloc(64)])],
  ];
  for (const [format, bytes] of raws) {
    it(`refuses camera RAW ${format.toUpperCase()} as UNSUPPORTED_FORMAT naming it`, async () => {
      const f = await failure(inspectImage(bytes, LIMITS));
      expect(f.reason).toBe('UNSUPPORTED_FORMAT');
      expect(f.message).toContain(
        `(${format} (camera RAW); accepted: JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC/HEIF, BMP, ICO)`,
      );
    });
  }

  it('refuses SVG as UNSUPPORTED_FORMAT (libvips could render it; we never do)', async () => {
    const f = await failure(
      inspectImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'), LIMITS),
    );
    expect(f.message).toMatch(/^UNSUPPORTED_FORMAT: the image format is not supported \(svg;/);
  });

  it('calls a pixel bomb TOO_MANY_PIXELS before decoding', async () => {
    const png = await sharp(quadPixels(64, 64), { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    const f = await failure(inspectImage(png, { ...LIMITS, maxPixels: 4000 }));
    expect(f.reason).toBe('TOO_MANY_PIXELS');
    expect(f.message).toContain('png, 64x64 = 4096 pixels; limit 4000');
  });

  it('calls a JPEG with a valid header over garbage data CORRUPT_IMAGE', async () => {
    const f = await failure(pixels(await garbageJpeg(1)));
    expect(f.reason).toBe('CORRUPT_IMAGE');
    expect(f.message).toMatch(
      /^CORRUPT_IMAGE: the image data is damaged or truncated \(jpeg\): VipsJpeg: Corrupt JPEG data/,
    );
  });

  it('still decodes a JPEG whose only fault is the harmless "extraneous bytes before marker"', async () => {
    const jpg = await sharp(quadPixels(64, 64), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    const app0End = 4 + jpg.readUInt16BE(4);
    const padded = Buffer.concat([jpg.subarray(0, app0End), Buffer.from([1, 2, 3]), jpg.subarray(app0End)]);
    await expect(sharp(padded, { failOn: 'warning' }).raw().toBuffer()).rejects.toThrow(/extraneous bytes/);
    for (const ownErrors of [true, false]) {
      const img = await openImage(padded, LIMITS, { ownErrors });
      const out = await decodeWith(img, LIMITS, { ownErrors }, (p) => p().raw().toBuffer({ resolveWithObject: true }));
      expect(out.info.width).toBe(64);
    }
  });

  it('tells empty input, non-images and truncated JPEGs apart', async () => {
    expect((await failure(inspectImage(Buffer.alloc(0), LIMITS))).reason).toBe('EMPTY_INPUT');
    expect((await failure(inspectImage(Buffer.from('hello, world'), LIMITS))).reason).toBe('NOT_AN_IMAGE');
    const jpg = await sharp(quadPixels(64, 64), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    const f = await failure(pixels(jpg.subarray(0, jpg.length / 2)));
    expect(f.message).toMatch(
      /^CORRUPT_IMAGE: the image data is damaged or truncated \(jpeg\): .*premature end of JPEG image$/,
    );
  });
});
