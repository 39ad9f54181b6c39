// Embedding lib benchmark: image preprocessing cost per photo (the served-throughput target is computed
// from it), JPEG shrink-on-load on large photos (speed and embedding agreement), and onnxruntime
// intra-op threads 1 vs 2 on the full-size models. Prints figures and the machine; no assertions.
//
//   npx tsx bench/embedding.bench.ts [--quick] [--models models/bench] [--fixtures DIR] [--reps N]
//
// Needs the reference fixtures (COCO photos, mini models); the thread comparison needs the full-size
// models (`npx nx run tools:make-bench-models -- --out models/bench`) and is skipped without them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import {
  cosine,
  ImagePreprocessor,
  loadEmbeddingModel,
  physicalCoreCount,
  type OnnxEmbeddingModel,
} from '@image-search/embedding';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    models: { type: 'string', default: 'models/bench' },
    fixtures: { type: 'string', default: resolve(import.meta.dirname, '../../shared/fixtures') },
    reps: { type: 'string' },
  },
});
const reps = Number(args.reps ?? (args.quick ? 2 : 5));
const F = args.fixtures;
if (!existsSync(join(F, 'images/coco'))) {
  console.error(`fixtures not found at ${F}; pass --fixtures DIR`);
  process.exit(2);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const ms = (x: number) => x.toFixed(2);

console.log('# embedding benchmark');
console.log(
  `CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length} logical (${physicalCoreCount()} physical), load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `Node ${process.version}; sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}; sharp concurrency ${sharp.concurrency()}; UV_THREADPOOL_SIZE default 4`,
);
console.log(`repetitions per figure: ${reps} (median reported)\n`);

const coco = readdirSync(join(F, 'images/coco'))
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .map((f) => readFileSync(join(F, 'images/coco', f)));
const mini: Record<'clip' | 'siglip', OnnxEmbeddingModel> = {
  clip: await loadEmbeddingModel({ modelDir: join(F, 'models/clip-reference-mini'), intraOpThreads: 1 }),
  siglip: await loadEmbeddingModel({ modelDir: join(F, 'models/siglip-reference-mini'), intraOpThreads: 1 }),
};

/** Wall ms per image for `images` through `fn`, `inFlight` at a time. */
async function perImage(images: Buffer[], inFlight: number, fn: (b: Buffer) => Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < reps; r++) {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < images.length) await fn(images[next++]!);
      }),
    );
    runs.push((performance.now() - t0) / images.length);
  }
  return median(runs);
}

// 1. Preprocessing on the COCO photos (JPEG bytes in, normalised tensor out).
console.log(`## 1. Preprocessing, ${coco.length} COCO photos (~640x480 JPEG), ms per image (wall / images)`);
console.log('| model | stage | 1 in flight | 2 in flight | 4 in flight |');
console.log('|---|---|---|---|---|');
for (const family of ['clip', 'siglip'] as const) {
  const p = mini[family].images;
  const out = new Float32Array(p.tensorLength);
  await perImage(coco.slice(0, 8), 1, (b) => p.preprocessInto(b, out, 0)); // warm-up
  const stages: [string, (b: Buffer) => Promise<unknown>][] = [
    ['header only (metadata)', (b) => sharp(b).metadata()],
    ['full: validate + decode + resize/crop + normalise', (b) => p.preprocessInto(b, out, 0)],
  ];
  for (const [name, fn] of stages) {
    const cols = [];
    for (const k of [1, 2, 4]) cols.push(ms(await perImage(coco, k, fn)));
    console.log(`| ${family} | ${name} | ${cols.join(' | ')} |`);
  }
  const px = await p.preparePixels(coco[0]!);
  const t0 = performance.now();
  const N = 2000;
  for (let i = 0; i < N; i++) p.normalizeInto(px.data, out, 0);
  console.log(
    `| ${family} | normalise only (HWC uint8 -> CHW float32, LUT) | ${ms((performance.now() - t0) / N)} | | |`,
  );
}
for (const c of [2]) {
  const before = sharp.concurrency();
  sharp.concurrency(c);
  const p = mini.clip.images;
  const out = new Float32Array(p.tensorLength);
  const cols = [];
  for (const k of [1, 2, 4]) cols.push(ms(await perImage(coco, k, (b) => p.preprocessInto(b, out, 0))));
  console.log(`| clip | full, sharp.concurrency(${c}) (libvips threads per image) | ${cols.join(' | ')} |`);
  sharp.concurrency(before);
}

// 2. Large photos: JPEG shrink-on-load (libvips decodes at 1/2, 1/4 or 1/8 scale) vs a full decode.
console.log('\n## 2. Large photos (COCO upscaled to 4032x3024 JPEG q90, like a phone camera): shrink-on-load');
const large = await Promise.all(
  coco
    .slice(0, args.quick ? 4 : 12)
    .map((b) => sharp(b).resize(4032, 3024, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer()),
);
for (const family of ['clip', 'siglip'] as const) {
  const model = mini[family];
  const p = model.images;
  const out = new Float32Array(p.tensorLength);
  // Reference for agreement: decode fully first (no shrink-on-load), then the same resize from raw pixels.
  const noShrink = new ImagePreprocessor(p.spec, p.limits);
  const fullDecode = async (b: Buffer): Promise<Float32Array> => {
    const raw = await sharp(b, { autoOrient: true, ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
    const png = await sharp(raw.data, {
      raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels },
    })
      .png({ compressionLevel: 0 })
      .toBuffer();
    return noShrink.preprocess(png);
  };
  const tShrink = await perImage(large, 1, (b) => p.preprocessInto(b, out, 0));
  const tFull = await perImage(large, 1, async (b) => {
    const raw = await sharp(b, { autoOrient: true, ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
    await sharp(raw.data, { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } })
      .resize(224, 224, { fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer();
  });
  const cos: number[] = [];
  for (const b of large) {
    const [a] = await model.embedPixels([await p.preprocess(b)]);
    const [c] = await model.embedPixels([await fullDecode(b)]);
    cos.push(cosine(a!, c!));
  }
  console.log(
    `${family}: shrink-on-load ${ms(tShrink)} ms/image vs full decode + resize ${ms(tFull)} ms/image (${(tFull / tShrink).toFixed(1)}x); embedding cosine shrink vs full decode: min ${Math.min(...cos).toFixed(6)}, median ${median(cos).toFixed(6)} (${cos.length} photos, reference-mini model)`,
  );
}

// 3. onnxruntime intra-op threads, full-size models.
console.log('\n## 3. Intra-op threads (full-size random-weight models), ms per image / per text, median');
for (const family of ['clip', 'siglip'] as const) {
  const dir = resolve(args.models, family);
  if (!existsSync(join(dir, 'onnx/vision_model.onnx'))) {
    console.log(
      `${family}: skipped, no full-size model at ${dir} (npx nx run tools:make-bench-models -- --out ${args.models})`,
    );
    continue;
  }
  for (const variant of ['fp32', 'quantized'] as const) {
    const rows: string[] = [];
    for (const threads of [1, 2]) {
      const m = await loadEmbeddingModel({ modelDir: dir, variant, intraOpThreads: threads });
      const tensors = await Promise.all(coco.slice(0, 8).map((b) => m.preprocessImage(b)));
      await m.embedPixels(tensors.slice(0, 1));
      const b1: number[] = [];
      const b8: number[] = [];
      const txt: number[] = [];
      for (let r = 0; r < reps; r++) {
        let t0 = performance.now();
        await m.embedPixels(tensors.slice(0, 1));
        b1.push(performance.now() - t0);
        t0 = performance.now();
        await m.embedPixels(tensors);
        b8.push((performance.now() - t0) / 8);
        t0 = performance.now();
        await m.embedTexts(['a dog running on the beach']);
        txt.push(performance.now() - t0);
      }
      rows.push(
        `threads ${threads}: image batch 1 ${ms(median(b1))} ms, batch 8 ${ms(median(b8))} ms/image, text batch 1 ${ms(median(txt))} ms`,
      );
      await m.close();
    }
    console.log(`${family} ${variant}: ${rows.join(' | ')}`);
  }
}
await Promise.all(Object.values(mini).map((m) => m.close()));
