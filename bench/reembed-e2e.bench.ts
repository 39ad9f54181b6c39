// End-to-end re-embedding per image (issue #15): this system re-embedding from the previews ingest keeps
// (preview file read from disk, sent to the real embedder app over gRPC on loopback, decoded, preprocessed
// and embedded there) against @huggingface/transformers decoding the originals with the same ONNX files.
// Passes alternate ours / peer so that a loaded machine's drift hits both; ratios are of medians.
// The bound is what doing less decoding allows: peer time per image / (our inference time + preview decode).
//
//   npx tsx bench/reembed-e2e.bench.ts [--models models/bench] [--family clip|siglip|both] [--variant fp32|quantized|both]
//                                      [--coco N] [--large N] [--passes N] [--batch 8] [--threads N] [--json FILE]
//                                      [--served-env MALLOC_MMAP_THRESHOLD_=unset,CPU_RUN_ROWS=0]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultIntraOpThreads, loadEmbeddingModel, cosine } from '@image-search/embedding';
import { DEFAULT_PREVIEW_OPTIONS, renderPreview } from '@image-search/image-formats';
import { largePhoto } from '@image-search/testing';
import { machine, median, printTable, startServed, timed } from './embedders-support.js';

const { values: args } = parseArgs({
  options: {
    family: { type: 'string', default: 'both' },
    variant: { type: 'string', default: 'both' },
    models: { type: 'string', default: 'models/bench' },
    coco: { type: 'string', default: '16' },
    large: { type: 'string', default: '8' },
    passes: { type: 'string', default: '3' },
    batch: { type: 'string', default: '8' },
    threads: { type: 'string' },
    json: { type: 'string' },
    // Extra environment of the served app, K=V,K=V (`unset` removes one the bench sets, e.g. MALLOC_MMAP_THRESHOLD_=unset).
    'served-env': { type: 'string', default: '' },
    fixtures: { type: 'string', default: resolve(import.meta.dirname, '../../shared/fixtures') },
  },
});
const threads = args.threads ? Number(args.threads) : defaultIntraOpThreads();
const families = (args.family === 'both' ? ['clip', 'siglip'] : [args.family]) as ('clip' | 'siglip')[];
const variants = (args.variant === 'both' ? ['fp32', 'quantized'] : [args.variant]) as ('fp32' | 'quantized')[];
const PASSES = Number(args.passes);
const servedEnv = Object.fromEntries(
  args['served-env']
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('='))
    .map(([k, v]) => [k!, v === 'unset' ? undefined : v]),
) as Record<string, string>; // Node's spawn leaves out undefined values.
const BATCH = Number(args.batch);
const cocoDir = join(args.fixtures, 'images/coco');
if (!existsSync(cocoDir)) {
  console.error(`COCO photos not found at ${cocoDir}; pass --fixtures DIR (the reference fixtures folder).`);
  process.exit(2);
}
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

// The photo sets: COCO as they are (~640x480: no preview, re-embedding decodes the original) and
// generated 12 MP JPEGs (4000x3000, grain and sharpened edges, q92, 2.5-3.5 MB like a phone photo).
const coco = readdirSync(cocoDir)
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .map((f) => readFileSync(join(cocoDir, f)));
log(`generating ${args.large} 12 MP photos and their previews`);
const sets: { name: string; originals: Buffer[]; inputs: Buffer[] }[] = [];
const large = [];
for (let i = 0; i < Number(args.large); i++)
  large.push(await largePhoto(coco[(i * 11) % coco.length]!, { seed: i + 1 }));
const tmp = await mkdtemp(join(tmpdir(), 'reembed-e2e-'));
for (const [name, originals] of [
  ['COCO', coco.slice(0, Number(args.coco))],
  ['12 MP', large],
] as const) {
  // What re-embedding reads: the preview file where ingest made one, else the original.
  const paths: string[] = [];
  for (const [i, b] of originals.entries()) {
    const p = join(tmp, `${name.replace(/\W/g, '')}-${i}.jpg`);
    await writeFile(p, (await renderPreview(b, DEFAULT_PREVIEW_OPTIONS))?.data ?? b);
    paths.push(p);
  }
  sets.push({ name, originals, inputs: await Promise.all(paths.map((p) => readFile(p))) });
  (sets.at(-1) as { paths?: string[] }).paths = paths;
}
const mb = (xs: Buffer[]) => (xs.reduce((a, b) => a + b.length, 0) / xs.length / 2 ** 20).toFixed(2);
for (const s of sets)
  log(`${s.name}: ${s.originals.length} photos, originals ${mb(s.originals)} MiB, inputs ${mb(s.inputs)} MiB`);

/** Milliseconds per image of `fn` over `items` in slices of BATCH. */
async function perImage<T>(items: T[], fn: (slice: T[]) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < items.length; i += BATCH) await fn(items.slice(i, i + BATCH));
  return (performance.now() - t0) / items.length;
}

interface Row {
  model: string;
  set: string;
  oursMs: number;
  peerMs: number;
  inferMs: number;
  decodeMs: number;
  origDecodeMs: number;
  cos: number;
  /** 1-minute load average when the row's passes ended. */
  load: number;
}
const rows: Row[] = [];

async function benchOne(family: 'clip' | 'siglip', variant: 'fp32' | 'quantized'): Promise<void> {
  const dir = resolve(args.models, family);
  const file = variant === 'fp32' ? 'vision_model.onnx' : 'vision_model_quantized.onnx';
  if (!existsSync(join(dir, 'onnx', file))) {
    console.log(
      `(${family} ${variant}: no ${join(dir, 'onnx', file)}; run npx nx run tools:make-bench-models -- --out models/bench)`,
    );
    return;
  }
  const label = `${family} ${variant === 'fp32' ? 'fp32' : 'int8'}`;
  log(`## ${label} (load ${loadavg()[0]!.toFixed(2)})`);
  // The bound's parts run in this process: preview (or original) decode+preprocess one at a time, and
  // inference alone on tensors prepared beforehand. They are measured in the same alternating passes as
  // ours and the peer (below), so that the machine's drift hits all four alike.
  const model = await loadEmbeddingModel({ modelDir: dir, family, variant, intraOpThreads: threads });
  await model.warmUp();
  const prepared = new Map<string, Float32Array[]>();
  const origDecode = new Map<string, number>();
  for (const s of sets) {
    const orig: number[] = [];
    for (const b of s.originals.slice(0, 4)) orig.push((await timed(() => model.preprocessImage(b)))[1]);
    origDecode.set(s.name, median(orig));
    const pixels = await Promise.all(s.inputs.map((b) => model.preprocessImage(b)));
    await model.embedPixels(pixels.slice(0, BATCH));
    prepared.set(s.name, pixels);
  }

  // Ours: the real embedder app; the client reads each preview file as the worker does.
  const served = await startServed(family, {
    MODEL_DIR: dir,
    MODEL_VARIANT: variant,
    INTRA_OP_THREADS: String(threads),
    ...servedEnv,
  });
  // The peer: transformers.js, same ONNX file, the originals.
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = dirname(dir) + '/';
  const processor = await tf.AutoProcessor.from_pretrained(basename(dir));
  const Vision = family === 'clip' ? tf.CLIPVisionModelWithProjection : tf.SiglipVisionModel;
  const peer = await Vision.from_pretrained(basename(dir), {
    dtype: variant === 'fp32' ? 'fp32' : 'q8',
    device: 'cpu',
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  const outName = family === 'clip' ? 'image_embeds' : 'pooler_output';
  const peerRun = async (slice: Buffer[]) => {
    const images = await Promise.all(slice.map((b) => tf.RawImage.fromBlob(new Blob([new Uint8Array(b)]))));
    return ((await peer(await processor(images))) as Record<string, { data: Float32Array }>)[outName]!;
  };
  try {
    for (const s of sets) {
      const paths = (s as { paths?: string[] }).paths!;
      const oursRun = async (slice: string[]) => {
        const data = await Promise.all(slice.map((p) => readFile(p)));
        const res = await served.client.embedImages(data.map((d, i) => ({ data: d, id: String(i) })));
        for (const r of res) if (!r.ok) throw new Error(`embedder refused a photo: ${r.message}`);
        return res;
      };
      const [mine] = await oursRun(paths.slice(0, 1));
      const theirs = await peerRun(s.originals.slice(0, 1));
      const cos = mine && mine.ok ? cosine(mine.vector, theirs.data.slice(0, mine.vector.length)) : NaN;
      await oursRun(paths.slice(0, BATCH));
      await peerRun(s.originals.slice(0, BATCH));
      const pixels = prepared.get(s.name)!;
      const [ours, theirsMs, inf, dec]: number[][] = [[], [], [], []];
      for (let p = 0; p < PASSES; p++) {
        ours.push(await perImage(paths, oursRun));
        theirsMs.push(await perImage(s.originals, peerRun));
        inf.push(await perImage(pixels, (x) => model.embedPixels(x)));
        // One image at a time, as the bound adds it to inference (no overlap between the two).
        dec.push(
          await perImage(s.inputs, async (x) => {
            for (const b of x) await model.preprocessImage(b);
          }),
        );
      }
      const row = {
        model: label,
        set: s.name,
        oursMs: median(ours),
        peerMs: median(theirsMs),
        inferMs: median(inf),
        decodeMs: median(dec),
        origDecodeMs: origDecode.get(s.name)!,
        cos,
        load: loadavg()[0]!,
      };
      rows.push(row);
      log(
        `${label} ${s.name}: ours ${row.oursMs.toFixed(1)} ms/img, transformers.js ${row.peerMs.toFixed(1)} ms/img, ratio ${(row.peerMs / row.oursMs).toFixed(2)}, bound ${(row.peerMs / (row.inferMs + row.decodeMs)).toFixed(2)}`,
      );
    }
  } finally {
    await peer.dispose();
    await served.stop();
    await model.close();
  }
}

console.log('# End-to-end re-embedding: previews (ours) vs transformers.js on the originals\n');
for (const l of machine(threads)) console.log(l);
console.log(
  `batch ${BATCH}, ${PASSES} alternating passes (medians)${args['served-env'] ? `; served app environment: ${args['served-env']}` : ''}\n`,
);
try {
  for (const f of families) for (const v of variants) await benchOne(f, v);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
console.log(
  `\nload average at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}\n`,
);
printTable(
  rows.map((r) => {
    const ratio = r.peerMs / r.oursMs;
    const bound = r.peerMs / (r.inferMs + r.decodeMs);
    return {
      model: r.model,
      photos: r.set,
      'ours ms/img': r.oursMs.toFixed(1),
      'transformers.js ms/img': r.peerMs.toFixed(1),
      'ours/peer': `${ratio.toFixed(2)}×`,
      bound: `${bound.toFixed(2)}×`,
      'of bound': (ratio / bound).toFixed(2),
      'inference ms': r.inferMs.toFixed(1),
      'preview decode ms': r.decodeMs.toFixed(1),
      'original decode ms': r.origDecodeMs.toFixed(1),
      'cos vs peer': r.cos.toFixed(4),
      load: r.load.toFixed(1),
    };
  }),
);
console.log('\nTargets: ours/peer ≥ 1.5× for CLIP fp32 and int8 on 12 MP; of bound ≥ 0.9 everywhere.');
for (const r of rows) {
  const ratio = r.peerMs / r.oursMs;
  const bound = r.peerMs / (r.inferMs + r.decodeMs);
  const big =
    r.model.startsWith('clip') && r.set === '12 MP'
      ? ` ratio ${ratio.toFixed(2)} ${ratio >= 1.5 ? 'MET' : 'NOT MET'} (1.5);`
      : '';
  console.log(
    `- ${r.model} ${r.set}:${big} of bound ${(ratio / bound).toFixed(2)} ${ratio / bound >= 0.9 ? 'MET' : 'NOT MET'} (0.9)`,
  );
}

// The same figures as bars (ms per image, shorter is faster): what the docs quote as the chart.
const widest = Math.max(...rows.flatMap((r) => [r.oursMs, r.peerMs, r.inferMs + r.decodeMs]));
const bar = (ms: number) => '█'.repeat(Math.max(1, Math.round((ms / widest) * 50)));
console.log('\nms per image (shorter is faster); bound = inference + preview decode');
for (const r of rows) {
  console.log(`${r.model}, ${r.set}`);
  for (const [what, ms] of [
    ['ours', r.oursMs],
    ['transformers.js', r.peerMs],
    ['bound', r.inferMs + r.decodeMs],
  ] as const)
    console.log(`  ${what.padEnd(15)} ${bar(ms)} ${ms.toFixed(1)}`);
}
if (args.json)
  writeFileSync(
    args.json,
    JSON.stringify(
      { date: new Date().toISOString(), machine: machine(threads), batch: BATCH, passes: PASSES, rows },
      null,
      2,
    ),
  );
