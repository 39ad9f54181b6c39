// Decoding benchmark: HEIC decode time for a 12 MP photo (libheif wasm, libheif-js), and the
// overhead the decode worker processes (MAX_DECODE_MS) add to ordinary decodes, both pipelines
// side by side in one run. Prints figures and the machine; no assertions.
//
//   npx tsx bench/decode.bench.ts [--quick] [--reps N]
//
// The 12 MP HEIC is encoded here with Debian's heif-enc (libheif-examples, x265) from a
// photo-like JPEG; without heif-enc the HEIC part is skipped with a line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ImagePreprocessor, PooledImagePreprocessor, type ImagePreprocessSpec } from '@image-search/embedding';
import { inspectImage, openImage } from '@image-search/image-formats';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, reps: { type: 'string' } },
});
const reps = Number(args.reps ?? (args.quick ? 3 : 9));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const LIMITS = { maxBytes: 100 * 1024 * 1024, maxPixels: 50_000_000 };
const SPEC: ImagePreprocessSpec = {
  size: 224,
  mode: 'shortest',
  resizeShortest: 224,
  kernel: 'cubic',
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
  rescale: 1 / 255,
  dropAlpha: 'after',
};

console.log('# decode benchmark');
console.log(
  `machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`reps: ${reps} (medians)\n`);

/** A photo-like picture: smooth gradients plus fine noise (compresses like a camera JPEG, not like a flat fill). */
async function photo(w: number, h: number): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 3);
  let seed = 7;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const n = (seed >>> 27) - 16;
      const i = (y * w + x) * 3;
      px[i] = Math.max(0, Math.min(255, ((x * 255) / w + n) | 0));
      px[i + 1] = Math.max(0, Math.min(255, ((y * 255) / h + n) | 0));
      px[i + 2] = Math.max(0, Math.min(255, (((x + y) * 127) / (w + h) + 64 + n) | 0));
    }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const tmp = mkdtempSync(join(tmpdir(), 'decode-bench-'));
try {
  const jpeg12 = await photo(4032, 3024);
  const jpegSmall = await photo(640, 480);

  // 1. HEIC 12 MP
  let heic: Buffer | undefined;
  try {
    writeFileSync(join(tmp, 'p.jpg'), jpeg12);
    execFileSync('heif-enc', ['-q', '50', join(tmp, 'p.jpg'), '-o', join(tmp, 'p.heic')], { stdio: 'ignore' });
    heic = readFileSync(join(tmp, 'p.heic'));
  } catch {
    console.log('HEIC: SKIPPED (heif-enc not installed: apt-get install libheif-examples)\n');
  }
  const local = new ImagePreprocessor(SPEC, LIMITS);
  if (heic) {
    const header = await inspectImage(heic, LIMITS);
    const decode: number[] = [];
    const prep: number[] = [];
    const jpegPrep: number[] = [];
    await local.preparePixels(heic); // loads the wasm module once
    for (let i = 0; i < reps; i++) {
      decode.push(await time(async () => (await openImage(heic, LIMITS)).pipeline().raw().toBuffer()));
      prep.push(await time(() => local.preparePixels(heic)));
      jpegPrep.push(await time(() => local.preparePixels(jpeg12)));
    }
    console.log(
      `## HEIC ${header.width}x${header.height} (${(heic.length / 1e6).toFixed(2)} MB, heif-enc -q 50, x265)`,
    );
    console.log(`| step | median ms |\n|---|---|`);
    console.log(`| libheif decode to RGB (libheif-js wasm) + libvips raw load | ${median(decode).toFixed(0)} |`);
    console.log(`| full preprocessing to 224x224 (CLIP) | ${median(prep).toFixed(0)} |`);
    console.log(
      `| same photo as a 12 MP JPEG, full preprocessing (libvips, shrink-on-load) | ${median(jpegPrep).toFixed(0)} |\n`,
    );
  }

  // 2. Decode worker overhead: the same images through the in-process and the pooled pipeline.
  const pooled = new PooledImagePreprocessor(SPEC, LIMITS, { timeoutMs: 10_000, workers: 2 });
  await pooled.ready();
  console.log('## decode worker processes vs in-process (same run, same images)');
  console.log('| image | in-process median ms | worker median ms | overhead ms | ratio |\n|---|---|---|---|---|');
  for (const [name, img] of [
    ['640x480 JPEG', jpegSmall],
    ['4032x3024 JPEG', jpeg12],
  ] as const) {
    const a: number[] = [];
    const b: number[] = [];
    await local.preprocess(img);
    await pooled.preprocess(img);
    for (let i = 0; i < reps * 2; i++) {
      a.push(await time(() => local.preprocess(img)));
      b.push(await time(() => pooled.preprocess(img)));
    }
    const [ma, mb] = [median(a), median(b)];
    console.log(
      `| ${name} | ${ma.toFixed(2)} | ${mb.toFixed(2)} | ${(mb - ma).toFixed(2)} | ${(mb / ma).toFixed(2)} |`,
    );
  }
  // Throughput with two at a time (the pool's two workers vs the libuv pool).
  const n = reps * 8;
  const both = async (p: { preprocess(b: Uint8Array): Promise<Float32Array> }) =>
    time(async () => {
      let next = 0;
      await Promise.all(
        [0, 1].map(async () => {
          while (next < n) {
            next++;
            await p.preprocess(jpegSmall);
          }
        }),
      );
    });
  const ta = await both(local);
  const tb = await both(pooled);
  console.log(
    `\n640x480 JPEG, 2 at a time, ${n} images: in-process ${((n * 1000) / ta).toFixed(0)}/s, workers ${((n * 1000) / tb).toFixed(0)}/s (ratio ${(ta / tb).toFixed(2)})`,
  );
  await pooled.close();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
