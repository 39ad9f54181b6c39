import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { COLOUR_RGB, COLOUR_WORDS, type ColourWord } from '@image-search/model-builder';

/** One generated picture: where it goes and what it shows. */
export interface SampleImage {
  /** Path relative to the output folder: `<category>/<colour>-<kind>.<ext>`. */
  path: string;
  colour: ColourWord;
  kind: 'photo' | 'gradient' | 'shapes';
  format: 'jpeg' | 'png' | 'webp';
}

const WIDTH = 320;
const HEIGHT = 240;

/** The sample set: for each colour word, a noisy "photo" (JPEG), a gradient (PNG) and a scene with shapes (WebP). */
export function samplePlan(): SampleImage[] {
  return COLOUR_WORDS.flatMap((colour): SampleImage[] => [
    { path: `photos/${colour}-photo.jpg`, colour, kind: 'photo', format: 'jpeg' },
    { path: `gradients/${colour}-gradient.png`, colour, kind: 'gradient', format: 'png' },
    { path: `shapes/${colour}-shapes.webp`, colour, kind: 'shapes', format: 'webp' },
  ]);
}

/** Deterministic pseudo-random numbers (mulberry32), so every run writes the same pictures. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

/** Raw RGB pixels of one picture; the named colour always dominates (what the demo models see). */
export function renderPixels(img: Pick<SampleImage, 'colour' | 'kind'>, seed = 1): Buffer {
  const [r, g, b] = COLOUR_RGB[img.colour];
  const rand = rng(
    seed * 7919 + COLOUR_WORDS.indexOf(img.colour) * 131 + ['photo', 'gradient', 'shapes'].indexOf(img.kind),
  );
  const px = Buffer.alloc(WIDTH * HEIGHT * 3);
  // A contrasting accent for the shapes: dark on light colours, light on dark ones.
  const light = 0.299 * r + 0.587 * g + 0.114 * b > 140;
  const accent = light ? [40, 40, 40] : [235, 235, 235];
  const shapes = Array.from({ length: 3 }, () => ({
    cx: rand() * WIDTH,
    cy: rand() * HEIGHT,
    rad: 14 + rand() * 14,
    square: rand() < 0.5,
  }));
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      let k = 1;
      if (img.kind === 'gradient') k = 1.12 - 0.24 * ((x + y) / (WIDTH + HEIGHT)); // ±12% brightness sweep
      if (img.kind === 'photo')
        k = 1 - (0.08 * Math.hypot(x - WIDTH / 2, y - HEIGHT / 2)) / Math.hypot(WIDTH / 2, HEIGHT / 2); // vignette
      const noise = img.kind === 'gradient' ? 0 : (rand() - 0.5) * 18;
      let c = [r * k + noise, g * k + noise, b * k + noise];
      if (img.kind === 'shapes') {
        for (const s of shapes) {
          const inside = s.square
            ? Math.abs(x - s.cx) < s.rad && Math.abs(y - s.cy) < s.rad
            : Math.hypot(x - s.cx, y - s.cy) < s.rad;
          if (inside) c = accent;
        }
      }
      const i = (y * WIDTH + x) * 3;
      px[i] = clamp(c[0]!);
      px[i + 1] = clamp(c[1]!);
      px[i + 2] = clamp(c[2]!);
    }
  }
  return px;
}

/** Encodes one picture in its format. */
export async function encodeSample(img: SampleImage): Promise<Buffer> {
  const s = sharp(renderPixels(img), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } });
  if (img.format === 'jpeg') return s.jpeg({ quality: 88, mozjpeg: false }).toBuffer();
  if (img.format === 'png') return s.png({ compressionLevel: 9 }).toBuffer();
  return s.webp({ quality: 85 }).toBuffer();
}

/**
 * Writes the sample set into `dir` (files that exist are kept unless `force`), so the demo
 * models have something to find: searching "red" with them returns the three red pictures first.
 */
export async function writeSampleImages(
  dir: string,
  opts: { force?: boolean; onFile?: (path: string, written: boolean) => void } = {},
): Promise<{ written: number; kept: number; files: string[] }> {
  let written = 0;
  let kept = 0;
  const files: string[] = [];
  for (const img of samplePlan()) {
    const out = join(dir, img.path);
    files.push(out);
    if (
      !opts.force &&
      (await stat(out).then(
        (s) => s.size > 0,
        () => false,
      ))
    ) {
      kept++;
      opts.onFile?.(img.path, false);
      continue;
    }
    await mkdir(join(out, '..'), { recursive: true });
    await sharp(await encodeSample(img)).toFile(out);
    written++;
    opts.onFile?.(img.path, true);
  }
  return { written, kept, files };
}
