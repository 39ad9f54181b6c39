// Shrink-on-load benchmark (issue #15 item 2): libjpeg's DCT scaling and libwebp's scaler downscale a
// large original while decoding. This measures, side by side in one run, what each setting costs and
// what it does to the embeddings: `fast` (sharp's default), `safe` (fastShrinkOnLoad: false, the kernel
// keeps at least a 2x reduction) and `off` (every pixel decoded, the exact path). Per image: cosine of
// the embedding against `off`, for the model preprocessing, the 512 px preview and the ingest thumbnail
// + preview pair. Prints figures, machine and load; no assertions (the conformance spec asserts).
//
//   npx tsx bench/decode-shrink.bench.ts [--quick] [--reps N] [--models dir,dir] [--sets a,b] [--timing-only]
//
// --models: model folders (default: the fixtures' two reference models); a folder's family is read
// from its name (siglip or clip). --sets: which photo sets the cosines use (comma-separated names as
// printed; default all). Needs ../shared/fixtures (FIXTURES_DIR) for the photos.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { ImagePreprocessor, cosine, loadEmbeddingModel, resizeGeometry } from '@image-search/embedding';
import { DEFAULT_PREVIEW_OPTIONS, renderPreview, type ShrinkOnLoad } from '@image-search/image-formats';
import { fixturePath, fixturesAvailable, largePhoto, mosaicPhoto } from '@image-search/testing';
import { renderThumbnail } from '../apps/gateway/src/thumbnails/thumbnail-render.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    models: { type: 'string' },
    sets: { type: 'string' },
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
const scaled = (list: Photo[], w: number, h: number, tag: string, o: { webp?: boolean; orientation?: number } = {}) =>
  Promise.all(
    list.map(async (p, i) => {
      const jpeg = await largePhoto(p.bytes, { width: w, height: h, seed: i + 1, orientation: o.orientation });
      const bytes = o.webp ? await sharp(jpeg).webp({ quality: 90 }).toBuffer() : jpeg;
      return { name: `${p.name}@${tag}`, bytes };
    }),
  );
const sets: Record<string, Photo[]> = {
  fixtures: [...coco, ...folder('derived', /\.jpe?g$/i), ...folder('skimage', /\.(png|jpe?g)$/i)],
  '2048x1536': await scaled(coco.slice(40, 40 + n), 2048, 1536, '1536'),
  '12MP': await scaled(coco.slice(3, 3 + n), 4000, 3000, '12mp'),
  '12MP exif6': await scaled(coco.slice(20, 20 + (args.quick ? 2 : 3)), 4000, 3000, '12mp-exif6', { orientation: 6 }),
  '12MP mosaic': await Promise.all(
    Array.from({ length: args.quick ? 2 : 4 }, async (_, i) => ({
      name: `mosaic-${i}`,
      bytes: await mosaicPhoto(
        coco.map((p) => p.bytes),
        i,
      ),
    })),
  ),
  '12MP WebP': await scaled(coco.slice(60, 60 + (args.quick ? 2 : 3)), 4000, 3000, '12mp.webp', { webp: true }),
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
const prep = Object.fromEntries(
  VARIANTS.map((v) => [v, new ImagePreprocessor(CLIP_SPEC, undefined, { shrinkOnLoad: v })]),
);
// A collection before each timed step: otherwise the step after an `off` decode pays for freeing its
// 36 MB of pixels (measured: `fast` 34 CPU ms alone, 59 ms right after an `off`).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Wall and CPU ms (this process's, libvips' threads included): CPU time is what load distorts least. */
async function timed(f: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  gc();
  const c = process.cpuUsage();
  const t = performance.now();
  await f();
  const d = process.cpuUsage(c);
  return { wall: performance.now() - t, cpu: (d.user + d.system) / 1000 };
}
// The embedders' crop before this change: sharp's extract(), which with an EXIF orientation rotates before
// resizing and so skips shrink-on-load.
async function extractCrop(bytes: Buffer): Promise<Buffer> {
  const m = await sharp(bytes, { autoOrient: true }).metadata();
  const geo = resizeGeometry(CLIP_SPEC, m.autoOrient.width, m.autoOrient.height);
  return sharp(bytes, { autoOrient: true, ignoreIcc: true, failOn: 'error', sequentialRead: true })
    .resize(geo.width, geo.height, { fit: 'fill', kernel: 'cubic' })
    .extract({ left: geo.left, top: geo.top, width: 224, height: 224 })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer();
}
console.log(`## decode + resize, median per image: CPU ms (wall ms) (load at start ${load()})`);
console.log('| set | step | fast | safe | off | off / fast (CPU) |\n|---|---|---|---|---|---|');
for (const set of big) {
  const steps: [string, ShrinkOnLoad[], (p: Photo, v: ShrinkOnLoad) => Promise<unknown>][] = [
    ['CLIP 224 preprocessing', VARIANTS, (p, v) => prep[v]!.preparePixels(p.bytes)],
    ['CLIP 224, crop by sharp extract() (before)', ['fast'], (p) => extractCrop(p.bytes)],
    ['512 px preview', VARIANTS, (p, v) => renderPreview(p.bytes, { ...DEFAULT_PREVIEW_OPTIONS, shrinkOnLoad: v })],
  ];
  for (const [step, vs, run] of steps) {
    const t: Record<string, { wall: number; cpu: number }[]> = { fast: [], safe: [], off: [] };
    for (const p of sets[set]!) await run(p, 'fast');
    // The order of the settings rotates per rep, so no setting always follows the big `off` decode.
    for (let r = 0; r < reps; r++)
      for (const p of sets[set]!)
        for (const v of [...vs.slice(r % vs.length), ...vs.slice(0, r % vs.length)])
          t[v]!.push(await timed(() => run(p, v)));
    const cell = (v: ShrinkOnLoad) =>
      t[v]!.length
        ? `${median(t[v]!.map((x) => x.cpu)).toFixed(1)} (${median(t[v]!.map((x) => x.wall)).toFixed(1)})`
        : '—';
    const ratio =
      vs.length > 1 ? (median(t.off!.map((x) => x.cpu)) / median(t.fast!.map((x) => x.cpu))).toFixed(2) : '—';
    console.log(`| ${set} | ${step} | ${cell('fast')} | ${cell('safe')} | ${cell('off')} | ${ratio} |`);
  }
}
// Ingest's gateway-side decodes of a new photo: before, a thumbnail (256 px) and a preview each from the
// original; now the preview from the original and the thumbnail from the preview.
{
  const t = { two: [] as { wall: number; cpu: number }[], one: [] as { wall: number; cpu: number }[] };
  for (let r = 0; r < reps; r++)
    for (const p of [...sets['12MP']!, ...sets['12MP exif6']!, ...sets['12MP mosaic']!]) {
      const two = async () =>
        t.two.push(await timed(async () => (await renderThumbnail(p.bytes, 256), await renderPreview(p.bytes))));
      const one = async () =>
        t.one.push(await timed(async () => renderThumbnail((await renderPreview(p.bytes))!.data, 256)));
      if (r % 2) await one().then(two);
      else await two().then(one);
    }
  const m = (xs: { wall: number; cpu: number }[], k: 'wall' | 'cpu') => median(xs.map((x) => x[k]));
  console.log(
    `\n12 MP ingest, thumbnail 256 + preview 512, median CPU ms (wall): from the original twice ${m(t.two, 'cpu').toFixed(1)} (${m(t.two, 'wall').toFixed(1)}), preview then thumbnail from it ${m(t.one, 'cpu').toFixed(1)} (${m(t.one, 'wall').toFixed(1)}); CPU ratio ${(m(t.two, 'cpu') / m(t.one, 'cpu')).toFixed(2)}`,
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
    if (args.sets && !args.sets.split(',').includes(set)) continue;
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
