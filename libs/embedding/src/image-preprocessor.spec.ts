import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { heicFixture, quadPixels, writeBmp, writeIco } from '@image-search/testing';
import { grey16Png, halves, pngBomb, rawImage, solid } from '../test/images.js';
import { ImagePreprocessor } from './image-preprocessor.js';
import {
  pyRound,
  resizeGeometry,
  specFromHfPreprocessor,
  specFromOpenClipPreprocess,
  type ImagePreprocessSpec,
} from './image-spec.js';
import { ItemFailure } from './model.types.js';

const CLIP_CFG = {
  crop_size: { height: 224, width: 224 },
  do_center_crop: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
  rescale_factor: 1 / 255,
  size: { shortest_edge: 224 },
};
const SIGLIP_CFG = {
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  resample: 3,
  size: { height: 224, width: 224 },
};
const clipSpec = specFromHfPreprocessor(CLIP_CFG, 'clip', 'clip.json');
const siglipSpec = specFromHfPreprocessor(SIGLIP_CFG, 'siglip', 'siglip.json');
const clip = new ImagePreprocessor(clipSpec);
const siglip = new ImagePreprocessor(siglipSpec);

/** Mean 8-bit RGB of a region of the prepared 224x224 square. */
async function meanRgb(
  p: ImagePreprocessor,
  bytes: Uint8Array,
  region: { x0: number; y0: number; x1: number; y1: number },
): Promise<number[]> {
  const px = await p.preparePixels(bytes);
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = region.y0; y < region.y1; y++)
    for (let x = region.x0; x < region.x1; x++) {
      for (let c = 0; c < 3; c++) sum[c]! += px.data[(y * px.size + x) * 3 + c]!;
      n++;
    }
  return sum.map((s) => Math.round(s / n));
}

async function failure(p: ImagePreprocessor, bytes: Uint8Array): Promise<ItemFailure> {
  try {
    await p.preprocess(bytes);
  } catch (err) {
    if (err instanceof ItemFailure) return err;
    throw err;
  }
  throw new Error('expected an ItemFailure');
}

describe('preprocessing spec and geometry', () => {
  it('reads both config styles', () => {
    expect(clipSpec).toMatchObject({
      mode: 'shortest',
      size: 224,
      resizeShortest: 224,
      kernel: 'cubic',
      dropAlpha: 'after',
    });
    expect(siglipSpec).toMatchObject({
      mode: 'squash',
      size: 224,
      kernel: 'cubic',
      dropAlpha: 'before',
      mean: [0.5, 0.5, 0.5],
    });
    const immich = specFromOpenClipPreprocess(
      {
        size: [224, 224],
        mean: [0.5, 0.5, 0.5],
        std: [0.5, 0.5, 0.5],
        interpolation: 'bicubic',
        resize_mode: 'squash',
      },
      'p.json',
    );
    expect(immich).toMatchObject({ mode: 'squash', kernel: 'cubic', dropAlpha: 'after' });
    expect(() =>
      specFromOpenClipPreprocess({ size: [224, 224], mean: 0.5, std: 0.5, resize_mode: 'longest' }, 'p.json'),
    ).toThrow(/resize_mode "longest" is not supported/);
    expect(() =>
      specFromHfPreprocessor({ ...SIGLIP_CFG, size: { height: 224, width: 256 } }, 'siglip', 'x.json'),
    ).toThrow(/square/);
    expect(() => specFromHfPreprocessor({ ...CLIP_CFG, crop_size: 256 }, 'clip', 'x.json')).toThrow(
      /crop_size 256 is larger/,
    );
    expect(() => specFromHfPreprocessor({ ...CLIP_CFG, do_center_crop: false }, 'clip', 'x.json')).toThrow(
      /non-square/,
    );
    expect(() => specFromHfPreprocessor({ ...CLIP_CFG, resample: 5 }, 'clip', 'x.json')).toThrow(
      /unsupported resample 5/,
    );
  });

  it('rounds crop offsets like Python (half to even) and truncates the long side like torchvision', () => {
    expect([0.5, 1.5, 2.5, 36.5, 57.5, 2.4, 2.6].map(pyRound)).toEqual([0, 2, 2, 36, 58, 2, 3]);
    expect(resizeGeometry(clipSpec, 640, 422)).toEqual({ width: 339, height: 224, left: 58, top: 0 }); // 224*640/422 = 339.7
    expect(resizeGeometry(clipSpec, 422, 640)).toEqual({ width: 224, height: 339, left: 0, top: 58 });
    expect(resizeGeometry(clipSpec, 384, 191)).toEqual({ width: 450, height: 224, left: 113, top: 0 });
    expect(resizeGeometry(siglipSpec, 640, 422)).toEqual({ width: 224, height: 224, left: 0, top: 0 });
  });
});

describe('image decoding', () => {
  it.each(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const)(
    'accepts %s and normalises to CHW float32',
    async (format) => {
      const t = await clip.preprocess(await solid(300, 200, [200, 100, 50], format));
      expect(t.length).toBe(3 * 224 * 224);
      const at = (c: number) => t[c * 224 * 224 + 224 * 112 + 112]!;
      const expected = [200, 100, 50].map((v, c) => (v / 255 - CLIP_CFG.image_mean[c]!) / CLIP_CFG.image_std[c]!);
      // Lossy formats move a few levels; 3/255 in normalised units is under 0.05.
      for (let c = 0; c < 3; c++) expect(Math.abs(at(c) - expected[c]!)).toBeLessThan(0.05);
    },
  );

  it('normalises with the exact float32 formula the reference uses', async () => {
    const t = await siglip.preprocess(await solid(50, 50, [255, 0, 128], 'png'));
    expect(t[0]).toBe(1);
    expect(t[224 * 224]).toBe(-1);
    expect(t[2 * 224 * 224]).toBe(Math.fround(Math.fround(Math.fround(128 / 255) - 0.5) / 0.5));
  });

  it('applies EXIF orientation (6: rotate 90° clockwise) before geometry', async () => {
    // Stored 300x200: left half red, right half blue. Displayed 200x300: red on top.
    const jpeg = await sharp(halves(300, 200, [255, 0, 0], [0, 0, 255]), {
      raw: { width: 300, height: 200, channels: 3 },
    })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const px = await siglip.preparePixels(jpeg);
    expect([px.sourceWidth, px.sourceHeight]).toEqual([200, 300]);
    const top = await meanRgb(siglip, jpeg, { x0: 0, y0: 0, x1: 224, y1: 100 });
    const bottom = await meanRgb(siglip, jpeg, { x0: 0, y0: 124, x1: 224, y1: 224 });
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(40);
    expect(bottom[2]).toBeGreaterThan(200);
  });

  it('center-crops CLIP images and squashes SigLIP images', async () => {
    // 600x200: red | green | blue thirds. CLIP keeps the middle third; SigLIP keeps all three.
    const img = await sharp(
      rawImage(600, 200, 3, (x) => (x < 200 ? [255, 0, 0] : x < 400 ? [0, 255, 0] : [0, 0, 255])),
      { raw: { width: 600, height: 200, channels: 3 } },
    )
      .png()
      .toBuffer();
    expect(await meanRgb(clip, img, { x0: 10, y0: 0, x1: 214, y1: 224 })).toEqual([0, 255, 0]);
    expect(await meanRgb(siglip, img, { x0: 0, y0: 0, x1: 60, y1: 224 })).toEqual([255, 0, 0]);
    expect(await meanRgb(siglip, img, { x0: 164, y0: 0, x1: 224, y1: 224 })).toEqual([0, 0, 255]);
  });

  it('converts greyscale, 16-bit, palette and CMYK images to 8-bit sRGB', async () => {
    const grey = await sharp(Buffer.alloc(100 * 100, 77), { raw: { width: 100, height: 100, channels: 1 } })
      .png()
      .toBuffer();
    expect(await meanRgb(siglip, grey, { x0: 0, y0: 0, x1: 224, y1: 224 })).toEqual([77, 77, 77]);
    const g16 = await grey16Png(64, 64, 0x8080);
    expect((await sharp(g16).metadata()).depth).toBe('ushort');
    expect(await meanRgb(siglip, g16, { x0: 0, y0: 0, x1: 224, y1: 224 })).toEqual([128, 128, 128]);
    const palette = await sharp((await solid(64, 64, [10, 200, 30])) as Buffer)
      .png({ palette: true })
      .toBuffer();
    expect(await meanRgb(siglip, palette, { x0: 0, y0: 0, x1: 224, y1: 224 })).toEqual([10, 200, 30]);
    const cmyk = await sharp(await solid(64, 64, [220, 30, 30]))
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const [r, g, b] = await meanRgb(siglip, cmyk, { x0: 0, y0: 0, x1: 224, y1: 224 });
    expect(r).toBeGreaterThan(150);
    expect(g! + b!).toBeLessThan(150);
  });

  it('handles alpha as the references do: SigLIP drops it first, CLIP resizes premultiplied then drops it', async () => {
    // Left half opaque red; right half fully transparent with green colour values underneath.
    const rgba = await sharp(halves(448, 448, [255, 0, 0, 255], [0, 255, 0, 0], 4), {
      raw: { width: 448, height: 448, channels: 4 },
    })
      .png()
      .toBuffer();
    const right = { x0: 150, y0: 0, x1: 224, y1: 224 };
    expect(await meanRgb(siglip, rgba, right)).toEqual([0, 255, 0]);
    expect(await meanRgb(clip, rgba, right)).toEqual([0, 0, 0]);
    expect(await meanRgb(clip, rgba, { x0: 0, y0: 0, x1: 90, y1: 224 })).toEqual([255, 0, 0]);
  });

  it('handles 16-bit RGBA and grey+alpha inputs on both alpha paths', async () => {
    const rgba16 = await sharp(halves(300, 300, [255, 0, 0, 255], [0, 0, 255, 255], 4), {
      raw: { width: 300, height: 300, channels: 4 },
    })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(rgba16).metadata()).depth).toBe('ushort');
    const greyAlpha = await sharp(
      rawImage(300, 300, 4, () => [90, 90, 90, 255]),
      { raw: { width: 300, height: 300, channels: 4 } },
    )
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(greyAlpha).metadata()).channels).toBe(2);
    for (const p of [clip, siglip]) {
      expect(await meanRgb(p, rgba16, { x0: 0, y0: 0, x1: 40, y1: 224 })).toEqual([255, 0, 0]);
      expect(await meanRgb(p, rgba16, { x0: 184, y0: 0, x1: 224, y1: 224 })).toEqual([0, 0, 255]);
      expect(await meanRgb(p, greyAlpha, { x0: 0, y0: 0, x1: 224, y1: 224 })).toEqual([90, 90, 90]);
    }
  });

  it('takes the first frame of an animated GIF', async () => {
    const frames = rawImage(32, 64, 3, (_x, y) => (y < 32 ? [255, 0, 0] : [0, 0, 255]));
    const gif = await sharp(frames, { raw: { width: 32, height: 64, channels: 3, pageHeight: 32 } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const [r, , b] = await meanRgb(siglip, gif, { x0: 0, y0: 0, x1: 224, y1: 224 });
    expect(r).toBeGreaterThan(240);
    expect(b).toBeLessThan(15);
  });
});

describe('bad image input is a per-item failure with a reason', () => {
  const small = new ImagePreprocessor(clipSpec, { maxBytes: 100_000, maxPixels: 1_000_000 });

  it('empty, too large, not an image', async () => {
    expect(await failure(small, new Uint8Array(0))).toMatchObject({ reason: 'EMPTY_INPUT' });
    expect(await failure(small, new Uint8Array(100_001))).toMatchObject({
      reason: 'INPUT_TOO_LARGE',
      message: expect.stringContaining('MAX_IMAGE_BYTES'),
    });
    expect(await failure(small, Buffer.from('this is a text file renamed to photo.jpg\n'.repeat(20)))).toMatchObject({
      reason: 'NOT_AN_IMAGE',
    });
  });

  it('truncated and damaged files', async () => {
    const jpeg = await sharp(
      rawImage(256, 256, 3, (x, y) => [x, y, (x * y) & 255]),
      { raw: { width: 256, height: 256, channels: 3 } },
    )
      .jpeg()
      .toBuffer();
    expect(await failure(small, jpeg.subarray(0, Math.floor(jpeg.length / 2)))).toMatchObject({
      reason: 'CORRUPT_IMAGE',
    });
    expect(await failure(small, jpeg.subarray(0, 20))).toMatchObject({ reason: 'CORRUPT_IMAGE' });
    const png = await solid(256, 256, [1, 2, 3], 'png');
    expect(await failure(small, png.subarray(0, png.length - 30))).toMatchObject({ reason: 'CORRUPT_IMAGE' });
  });

  it('refuses decompression bombs from the header, before decoding', async () => {
    const bomb = pngBomb(50_000, 50_000);
    expect(bomb.length).toBeLessThan(200);
    const started = performance.now();
    const f = await failure(new ImagePreprocessor(clipSpec), bomb);
    expect(f.reason).toBe('TOO_MANY_PIXELS');
    expect(f.message).toContain('50000x50000');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await failure(small, await solid(1001, 1000, [0, 0, 0], 'jpeg'))).toMatchObject({
      reason: 'TOO_MANY_PIXELS',
    });
  });

  it('refuses SVG and PDF as UNSUPPORTED_FORMAT, and BMP or HEIC headers with nothing behind them as CORRUPT_IMAGE', async () => {
    const svg = Buffer.from(
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    );
    expect(await failure(small, svg)).toMatchObject({
      reason: 'UNSUPPORTED_FORMAT',
      message: expect.stringContaining('svg'),
    });
    expect(await failure(small, Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n'))).toMatchObject({
      reason: 'UNSUPPORTED_FORMAT',
    });
    const bmpHeader = Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]);
    expect(await failure(small, bmpHeader)).toMatchObject({ reason: 'CORRUPT_IMAGE' });
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.alloc(40)]);
    expect(await failure(small, heic)).toMatchObject({ reason: 'CORRUPT_IMAGE' });
  });

  it('goes on working after failures', async () => {
    await failure(small, Buffer.from('nope'));
    expect((await small.preprocess(await solid(10, 10, [9, 9, 9], 'png'))).length).toBe(3 * 224 * 224);
  });
});

describe('spec fields drive the pipeline', () => {
  it('uses the configured size and normalisation', async () => {
    const spec: ImagePreprocessSpec = { ...siglipSpec, size: 32, resizeShortest: 32, mean: [0, 0, 0], std: [1, 1, 1] };
    const t = await new ImagePreprocessor(spec).preprocess(await solid(100, 60, [255, 255, 255], 'png'));
    expect(t.length).toBe(3 * 32 * 32);
    expect(t.every((v) => v === 1)).toBe(true);
  });
});

describe('HEIC, BMP and ICO go through the same preprocessing', () => {
  const rgb = quadPixels(80, 60);
  const png = () =>
    sharp(rgb, { raw: { width: 80, height: 60, channels: 3 } })
      .png()
      .toBuffer();

  it('gives a BMP and an ICO exactly the tensor of the same pixels as PNG, for CLIP and SigLIP', async () => {
    const ico = await writeIco([
      { w: 16, h: 16, rgb: Buffer.alloc(16 * 16 * 3, 200) },
      { w: 80, h: 60, rgb },
    ]);
    for (const p of [clip, siglip]) {
      const ref = await p.preprocess(await png());
      const maxDiff = (t: Float32Array) => t.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]!)), 0);
      expect(maxDiff(await p.preprocess(writeBmp(80, 60, rgb))), `${p.spec.dropAlpha} bmp`).toBe(0);
      expect(
        maxDiff(await p.preprocess(writeBmp(80, 60, rgb, { topDown: true, bits: 32 }))),
        `${p.spec.dropAlpha} bmp32`,
      ).toBe(0);
      expect(maxDiff(await p.preprocess(ico)), `${p.spec.dropAlpha} ico`).toBe(0);
    }
  });

  it('orients an iPhone-style HEIC once (irot; its EXIF orientation is not applied again) and keeps its colours', async () => {
    const px = await siglip.preparePixels(heicFixture());
    expect([px.format, px.sourceWidth, px.sourceHeight]).toEqual(['heic', 48, 64]);
    // Rotated 90° clockwise: blue top-left, red top-right, white bottom-left, green bottom-right.
    const at = (x: number, y: number) => [...px.data.subarray((y * 224 + x) * 3, (y * 224 + x) * 3 + 3)];
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) < 40);
    expect(close(at(20, 20), [0, 0, 255]), `${at(20, 20)}`).toBe(true);
    expect(close(at(200, 20), [255, 0, 0]), `${at(200, 20)}`).toBe(true);
    expect(close(at(20, 200), [255, 255, 255]), `${at(20, 200)}`).toBe(true);
    expect(close(at(200, 200), [0, 255, 0]), `${at(200, 200)}`).toBe(true);
  });
});
