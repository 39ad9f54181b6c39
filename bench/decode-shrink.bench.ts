// Shrink-on-load benchmark (issue #15 item 2): libjpeg's DCT scaling and libwebp's scaler downscale a
// large original while decoding. This measures, side by side in one run, what each setting costs and
// what it does to the embeddings: `fast` (sharp's default), `safe` (fastShrinkOnLoad: false, the kernel
// keeps at least a 2x reduction) and `off` (every pixel decoded, the exact path). Per image: cosine of
// the embedding against `off`, for the model preprocessing, the 512 px preview and the ingest thumbnail
// + preview pair. Prints figures, machine and load; no assertions (the conformance spec asserts).
//
//   npx tsx bench/decode-shrink.bench.ts [--quick] [--reps N] [--models dir,dir] [--timing-only]
//
// --models: model folders (default: the fixtures' two reference models); a folder's family is read
// from its name (siglip or clip). Needs ../shared/fixtures (FIXTURES_DIR) for the photos.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ImagePreprocessor, cosine, loadEmbeddingModel } from '@image-search/embedding';
import { DEFAULT_PREVIEW_OPTIONS, renderPreview, type ShrinkOnLoad } from '@image-search/image-formats';
import { fixturePath, fixturesAvailable, largePhoto, mosaicPhoto } from '@image-search/testing';
import { renderThumbnail } from '../apps/gateway/src/thumbnails/thumbnail-render.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    models: { type: 'string' },
    'timing-only': { type: 'boolean', default: false },
  },
});
const reps = Number(args.reps ?? (args.quick ? 2 : 5));
const VARIANTS: ShrinkOnLoad[] = ['fast', 'safe', 'off'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

if (!fixturesAvailable()) {
  console.log('SKIPPED: fixtures not found (set FIXTURES_DIR)');
  process.exit(0);
}
console.log('# shrink-on-load benchmark');
console.log(`machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, node ${process.version}, load ${load()}`);
console.log(`reps: ${reps} (medians over images x reps)\n`);

interface Photo {
  name: string;
  bytes: Buffer;
}
const folder = (f: string, ext: RegExp): Photo[] =>
  readdirSync(fixturePath('images', f))
    .filter((n) => ext.test(n))
    .sort()
    .map((n) => ({ name: `${f}/${n}`, bytes: readFileSync(fixturePath('images', f, n)) }));
const coco = folder('coco', /\.jpe?g$/i);
const n = args.quick ? 3 : 6;
const scaled = (list: Photo[], w: number, h: number, tag: string, webp = false) =>
  Promise.all(
    list.map(async (p, i) => {
      const jpeg = await largePhoto(p.bytes, { width: w, height: h, seed: i + 1, orientation: i % 3 === 1 ? 6 : undefined });
      const bytes = webp ? await sharp(jpeg).autoOrient().webp({ quality: 90 }).toBuffer() : jpeg;
      return { name: `${p.name}@${tag}${i % 3 === 1 && !webp ? '/exif6' : ''}`, bytes };
    }),
  );
const sets: Record<string, Photo[]> = {
  fixtures: [...coco, ...folder('derived', /\.jpe?g$/i), ...folder('skimage', /\.(png|jpe?g)$/i)],
  '2048x1536': await scaled(coco.slice(40, 40 + n), 2048, 1536, '1536'),
  '12MP': await scaled(coco.slice(3, 3 + n), 4000, 3000, '12mp'),
  '12MP mosaic': await Promise.all(
    Array.from({ length: args.quick ? 2 : 4 }, async (_, i) => ({
      name: `mosaic-${i}`,
      bytes: await mosaicPhoto(coco.map((p) => p.bytes), i),
    })),
  ),
  '12MP WebP': await scaled(coco.slice(60, 60 + (args.quick ? 2 : 3)), 4000, 3000, '12mp.webp', true),
};
const big = Object.keys(sets).filter((s) => s !== 'fixtures');

// 1. Time: decode + resize per image, each setting, interleaved so load drifts hit all alike.
const CLIP_SPEC = {
  size: 224,
  mode: 'shortest' as const,
  resizeShortest: 224,
  kernel: 'cubic' as const,
  mean: [0.48145466, 0.4578275, 0.40821073] as [number, number, number],
  std: [0.26862954, 0.26130258, 0.27577711] as [number, number, number],
  rescale: 1 / 255,
  dropAlpha: 'after' as const,
};
const prep = Object.fromEntries(VARIANTS.map((v) => [v, new ImagePreprocessor(CLIP_SPEC, undefined, { shrinkOnLoad: v })]));
async function timed(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}
console.log(`## decode + resize, median ms per image (load at start ${load()})`);
console.log('| set | step | fast | safe | off | off / fast |\n|---|---|---|---|---|---|');
for (const set of big) {
  const steps: [string, (p: Photo, v: ShrinkOnLoad) => Promise<unknown>][] = [
    ['CLIP 224 preprocessing', (p, v) => prep[v]!.preparePixels(p.bytes)],
    ['512 px preview', (p, v) => renderPreview(p.bytes, { ...DEFAULT_PREVIEW_OPTIONS, shrinkOnLoad: v })],
  ];
  for (const [step, run] of steps) {
    const t: Record<string, number[]> = { fast: [], safe: [], off: [] };
    for (const p of sets[set]!) await run(p, 'fast');
    for (let r = 0; r < reps; r++)
      for (const p of sets[set]!) for (const v of VARIANTS) t[v]!.push(await timed(() => run(p, v)));
    const [f, s, o] = VARIANTS.map((v) => median(t[v]!));
    console.log(`| ${set} | ${step} | ${f!.toFixed(1)} | ${s!.toFixed(1)} | ${o!.toFixed(1)} | ${(o! / f!).toFixed(2)} |`);
  }
}
// Ingest today: a thumbnail (256 px, its own decode) and a preview (another decode), both `fast`.
{
  const t = { two: [] as number[], thumbOnly: [] as number[] };
  for (let r = 0; r < reps; r++)
    for (const p of sets['12MP']!) {
      t.two.push(await timed(async () => (await renderThumbnail(p.bytes, 256), await renderPreview(p.bytes))));
      t.thumbOnly.push(await timed(() => renderThumbnail(p.bytes, 256)));
    }
  console.log(
    `\n12MP ingest, thumbnail 256 + preview 512 (two decodes, fast): ${median(t.two).toFixed(1)} ms; thumbnail alone ${median(t.thumbOnly).toFixed(1)} ms`,
  );
}
console.log(`load after timing: ${load()}\n`);
if (args['timing-only']) process.exit(0);

// 2. Embeddings: each setting against `off`, for the original and for the preview made with it.
const modelDirs = args.models
  ? args.models.split(',')
  : [fixturePath('models', 'clip-reference-mini'), fixturePath('models', 'siglip-reference-mini')];
console.log('## cosine against the exact path (off), min / median per set');
console.log('| model | set | images | fast | safe | preview(fast) | preview(safe) |\n|---|---|---|---|---|---|---|');
for (const dir of modelDirs) {
  const family = /siglip/i.test(basename(dir)) ? 'siglip' : 'clip';
  const model = await loadEmbeddingModel({ modelDir: dir, family, intraOpThreads: 1 });
  const pre = Object.fromEntries(
    VARIANTS.map((v) => [v, new ImagePreprocessor(model.images.spec, model.images.limits, { shrinkOnLoad: v })]),
  );
  for (const [set, list] of Object.entries(sets)) {
    const embed = async (inputs: Buffer[], v: ShrinkOnLoad) =>
      model.embedPixels(await Promise.all(inputs.map((b) => pre[v]!.preprocess(b))));
    const bytes = list.map((p) => p.bytes);
    const exact = await embed(bytes, 'off');
    const col = async (got: Float32Array[]) => {
      const cos = list.map((p, i) => ({ name: p.name, c: cosine(exact[i]!, got[i]!) }));
      const s = [...cos].sort((a, b) => a.c - b.c);
      return `${s[0]!.c.toFixed(6)} / ${s[s.length >> 1]!.c.toFixed(6)}${s[0]!.c < 0.999 ? ` (min ${s[0]!.name})` : ''}`;
    };
    const cells = [await col(await embed(bytes, 'fast')), await col(await embed(bytes, 'safe'))];
    for (const v of ['fast', 'safe'] as const) {
      const previews = await Promise.all(
        bytes.map(async (b) => (await renderPreview(b, { ...DEFAULT_PREVIEW_OPTIONS, shrinkOnLoad: v }))?.data ?? b),
      );
      cells.push(await col(await embed(previews, 'fast')));
    }
    console.log(`| ${basename(dir)} | ${set} | ${list.length} | ${cells.join(' | ')} |`);
  }
  await model.close();
}
console.log(`\nload at end: ${load()}`);
