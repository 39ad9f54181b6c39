// Embedder benchmark: ceiling (onnxruntime on prepared tensors, decode+preprocess alone), served
// (the real embedder app over gRPC on loopback: one client with batches, 32 concurrent clients
// with one image each, one short text query) and the peer (@huggingface/transformers with the
// same ONNX files and photos), side by side in one run, with the targets checked as ratios.
//
//   npx tsx bench/embedders.bench.ts [--quick] [--mini] [--no-light] [--family clip|siglip|both] [--variant fp32|quantized|both]
//                                    [--models models/bench] [--images N] [--passes N] [--threads N] [--server-batch 32] [--json FILE]
//                                    [--batches 1,8,32] [--run-rows 8,0]
//
// --run-rows starts one served process per CPU_RUN_ROWS value (0: the whole batch in one onnxruntime run) and measures
// them in the same alternating passes as the ceiling, so their ratios to the bound are side by side; the concurrent-client
// and text figures are the first value's.
//
// Full-size models: `npx nx run tools:make-bench-models -- --out models/bench`. Without them (or with
// --quick and no --models, or --mini) it uses the reference fixtures' mini models, only good for checking the script.
// After the full-size models, a full run also measures the reference mini models ("inference-light"): real
// exports whose inference costs about 1 ms per image or less, the regime of a GPU node, where decoding, batching and
// serving decide the throughput. --no-light skips it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultIntraOpThreads, loadEmbeddingModel, cosine } from '@image-search/embedding';
import { EmbedderClient } from '@image-search/embedder-client';
import { loadavg } from 'node:os';
import {
  machine,
  median,
  percentile,
  printTable,
  progress,
  startServed,
  throughput,
  timed,
} from './embedders-support.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    family: { type: 'string', default: 'both' },
    variant: { type: 'string', default: 'both' },
    models: { type: 'string' },
    mini: { type: 'boolean' },
    images: { type: 'string' },
    passes: { type: 'string' },
    'no-light': { type: 'boolean', default: false },
    threads: { type: 'string' },
    'server-batch': { type: 'string', default: '32' },
    json: { type: 'string' },
    batches: { type: 'string' },
    'run-rows': { type: 'string' },
    fixtures: { type: 'string', default: resolve(import.meta.dirname, '../../shared/fixtures') },
  },
});

const quick = args.quick;
const threads = args.threads ? Number(args.threads) : defaultIntraOpThreads();
const families = (args.family === 'both' ? ['clip', 'siglip'] : [args.family]) as ('clip' | 'siglip')[];
const variants = (args.variant === 'both' ? ['fp32', 'quantized'] : [args.variant]) as ('fp32' | 'quantized')[];
const BATCHES = args.batches ? args.batches.split(',').map(Number) : quick ? [1, 8, 32] : [1, 2, 4, 8, 16, 32];
if (!BATCHES.includes(32)) throw new Error('--batches must include 32 (the targets are checked at batch 32)');
// CPU_RUN_ROWS of each served process; undefined = the app's default (not set).
const RUN_ROWS: (number | undefined)[] = args['run-rows'] ? args['run-rows'].split(',').map(Number) : [undefined];
const rowsLabel = (r: number | undefined) => (r === undefined ? 'default' : r === 0 ? 'whole' : String(r));
// Throughputs are the median of several passes over the photos: one pass of a few batches moved by ±20 %.
const PASSES = Number(args.passes ?? (quick ? 1 : 3));
const passes = async (fn: () => Promise<number>): Promise<number> => {
  const xs: number[] = [];
  for (let i = 0; i < PASSES; i++) xs.push(await fn());
  return median(xs);
};
const TEXT = 'a dog running on the beach';
const cocoDir = join(args.fixtures, 'images/coco');
if (!existsSync(cocoDir)) {
  console.error(`COCO photos not found at ${cocoDir}; pass --fixtures DIR (the reference fixtures folder).`);
  process.exit(2);
}
const files = readdirSync(cocoDir)
  .filter((f) => f.endsWith('.jpg'))
  .sort();
// SigLIP B/16 costs about 4× CLIP B/32 per image; fewer photos keep a full CPU run within minutes.
const imagesFor = (family: 'clip' | 'siglip') => Number(args.images ?? (quick || family === 'siglip' ? 32 : 64));
const allPhotos = Array.from({ length: Math.max(64, Number(args.images ?? 0)) }, (_, i) =>
  readFileSync(join(cocoDir, files[i % files.length]!)),
);
let photos = allPhotos;

// --quick uses the mini fixture models unless --models is given; a full run uses models/bench.
const useMini = args.mini ?? (quick && !args.models);
function modelDirFor(family: 'clip' | 'siglip', mini: boolean): { dir: string; fullSize: boolean } {
  const bench = resolve(args.models ?? 'models/bench', family);
  if (!mini && existsSync(join(bench, 'onnx'))) return { dir: bench, fullSize: true };
  if (!mini)
    console.log(
      `(no full-size model at ${bench}: run \`npx nx run tools:make-bench-models -- --out models/bench\`; using the mini fixture model)`,
    );
  return { dir: join(args.fixtures, `models/${family}-reference-mini`), fullSize: false };
}

const variantFile = (v: 'fp32' | 'quantized') => (v === 'fp32' ? 'vision_model.onnx' : 'vision_model_quantized.onnx');

interface Result {
  family: string;
  variant: string;
  model: string;
  fullSize: boolean;
  images: number;
  prepMsPerImage: number;
  prepConcurrentPerS: number;
  ceiling: Record<number, number>;
  textTowerB1Ms: number;
  served: Record<number, number>;
  /** Served img/s per CPU_RUN_ROWS label (--run-rows), measured in the same passes; `served` is the first. */
  servedByRows: Record<string, Record<number, number>>;
  peakRssByRows: Record<string, number>;
  concurrent32: number;
  concurrentMeanBatch: number;
  textServedMs: number;
  textServedP90Ms: number;
  peakRssMiB: number;
  peer: Record<number, number>;
  peerCosine: number;
}

async function benchOne(
  family: 'clip' | 'siglip',
  variant: 'fp32' | 'quantized',
  mini = useMini,
): Promise<Result | undefined> {
  const { dir, fullSize } = modelDirFor(family, mini);
  if (!existsSync(join(dir, 'onnx', variantFile(variant)))) {
    console.log(`\n## ${family} ${variant}: SKIPPED (no ${join(dir, 'onnx', variantFile(variant))})`);
    return undefined;
  }
  // The inference-light pass needs more photos per pass: at hundreds of images per second, 32 take 0.2 s.
  photos =
    fullSize || useMini ? allPhotos.slice(0, imagesFor(family)) : allPhotos.slice(0, Math.max(64, imagesFor(family)));
  console.log(
    `\n## ${family} / ${variant} — ${photos.length} photos per pass — ${dir}${fullSize ? '' : useMini ? ' (mini fixture model: figures only check the script)' : ' (reference mini model: inference-light regime)'} — load average ${loadavg()[0]!.toFixed(2)}`,
  );
  const r = {
    family,
    variant,
    model: dir,
    fullSize,
    images: photos.length,
    ceiling: {},
    served: {},
    servedByRows: {},
    peakRssByRows: {},
    peer: {},
  } as Result;

  // 1. Ceiling: decode+preprocess alone, then onnxruntime on prepared tensors.
  const model = await loadEmbeddingModel({ modelDir: dir, family, variant, intraOpThreads: threads });
  await model.warmUp();
  const seq: number[] = [];
  for (const p of photos.slice(0, Math.min(photos.length, 32)))
    seq.push((await timed(() => model.preprocessImage(p)))[1]);
  r.prepMsPerImage = median(seq);
  const [pixels, concMs] = await timed(() => Promise.all(photos.map((p) => model.preprocessImage(p))));
  r.prepConcurrentPerS = photos.length / (concMs / 1000);
  for (const b of BATCHES) await model.embedPixels(pixels.slice(0, b)); // warm each batch shape
  const ids = model.tokenize([TEXT]);
  for (let i = 0; i < 3; i++) await model.embedTokens(ids, 1);
  const ours = (await model.embedPixels([pixels[0]!]))[0]!;

  // 2. Served: the real app process over gRPC on loopback.
  // The ceiling and every served process in the same passes (ceiling, served…, ceiling, served…), so
  // that the machine's drift hits the bound and the served figures alike.
  const fleet = [];
  try {
    for (const rows of RUN_ROWS)
      fleet.push(
        await startServed(family, {
          MODEL_DIR: dir,
          MODEL_VARIANT: variant,
          INTRA_OP_THREADS: String(threads),
          GPU_BATCH_SIZE: args['server-batch'],
          MAX_REQUEST_ITEMS: '64',
          QUEUE_CAPACITY: '256',
          ...(rows === undefined ? {} : { CPU_RUN_ROWS: String(rows) }),
        }),
      );
  } catch (err) {
    await Promise.all(fleet.map((f) => f.stop()));
    throw err;
  }
  const served = fleet[0]!;
  try {
    const c = served.client;
    const imgs = photos.map((data) => ({ data }));
    for (const f of fleet) await f.client.embedImages(imgs.slice(0, 32));
    const s2 = performance.now();
    for (const [i, b] of BATCHES.entries()) {
      const ceil: number[] = [];
      const by: number[][] = RUN_ROWS.map(() => []);
      for (let p = 0; p < PASSES; p++) {
        ceil.push(await throughput(pixels, b, (s) => model.embedPixels(s)));
        for (const [k, f] of fleet.entries()) by[k]!.push(await throughput(imgs, b, (s) => f.client.embedImages(s)));
      }
      r.ceiling[b] = median(ceil);
      for (const [k, rows] of RUN_ROWS.entries()) (r.servedByRows[rowsLabel(rows)] ??= {})[b] = median(by[k]!);
      r.served[b] = median(by[0]!);
      progress('ceiling and served, one client', i + 1, BATCHES.length, s2);
    }
    const [sumBefore, countBefore] = [
      await served.metric('embedder_batch_size_sum', { tower: 'image' }),
      await served.metric('embedder_batch_size_count', { tower: 'image' }),
    ];
    // 32 independent clients (own connections), each sending one image at a time, closed loop.
    const clients = Array.from(
      { length: 32 },
      () =>
        new EmbedderClient({
          address: served.address,
          defaultDeadlineMs: 600_000,
          maxRequestItems: 64,
          channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
        }),
    );
    await Promise.all(clients.map((k) => k.embedTexts(['connect'])));
    const total = Math.max(imgs.length, 128);
    r.concurrent32 = await passes(async () => {
      let next = 0;
      const [, ms] = await timed(() =>
        Promise.all(
          clients.map(async (k) => {
            while (next < total) {
              const i = next++;
              await k.embedImages([imgs[i % imgs.length]!]);
            }
          }),
        ),
      );
      return total / (ms / 1000);
    });
    for (const k of clients) k.close();
    const [sumAfter, countAfter] = [
      await served.metric('embedder_batch_size_sum', { tower: 'image' }),
      await served.metric('embedder_batch_size_count', { tower: 'image' }),
    ];
    r.concurrentMeanBatch = (sumAfter - sumBefore) / Math.max(1, countAfter - countBefore);
    // The text tower in this process and the served query, in alternating rounds: measured minutes
    // apart, the tower's own latency moved by 20 % between phases of one run.
    for (let i = 0; i < 3; i++) await c.embedTexts([TEXT]);
    const [tl, ql]: number[][] = [[], []];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) tl.push((await timed(() => model.embedTokens(ids, 1)))[1]);
      for (let i = 0; i < 10; i++) ql.push((await timed(() => c.embedTexts([TEXT])))[1]);
    }
    r.textTowerB1Ms = median(tl);
    r.textServedMs = median(ql);
    r.textServedP90Ms = percentile(ql, 90);
    r.peakRssMiB = (await served.metric('embedder_process_peak_rss_bytes')) / 2 ** 20;
    for (const [k, rows] of RUN_ROWS.entries())
      r.peakRssByRows[rowsLabel(rows)] = (await fleet[k]!.metric('embedder_process_peak_rss_bytes')) / 2 ** 20;
  } finally {
    for (const f of fleet) {
      const code = await f.stop();
      if (code !== 0) console.log(`  (embedder exited with ${code})`);
    }
    await model.close();
  }

  // 3. The peer: @huggingface/transformers, same ONNX file, same JPEG bytes, end to end.
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = dirname(dir) + '/';
  const name = basename(dir);
  const processor = await tf.AutoProcessor.from_pretrained(name);
  const Vision = family === 'clip' ? tf.CLIPVisionModelWithProjection : tf.SiglipVisionModel;
  const peer = await Vision.from_pretrained(name, {
    dtype: variant === 'fp32' ? 'fp32' : 'q8',
    device: 'cpu',
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  const outName = family === 'clip' ? 'image_embeds' : 'pooler_output';
  const peerRun = async (slice: Buffer[]) => {
    const images = await Promise.all(slice.map((b) => tf.RawImage.fromBlob(new Blob([new Uint8Array(b)]))));
    const inputs = await processor(images);
    return ((await peer(inputs)) as Record<string, { data: Float32Array; dims: number[] }>)[outName]!;
  };
  const first = await peerRun([photos[0]!]);
  r.peerCosine = cosine(ours, first.data.slice(0, ours.length));
  const s3 = performance.now();
  const peerBatches = quick ? [32] : [1, 32];
  for (const [i, b] of peerBatches.entries()) {
    await peerRun(photos.slice(0, b));
    r.peer[b] = await passes(() => throughput(photos, b, peerRun));
    progress('transformers.js', i + 1, peerBatches.length, s3);
  }
  await peer.dispose();
  report(r);
  return r;
}

function report(r: Result): void {
  const bound = (b: number) => 1 / (1 / r.ceiling[b]! + r.prepMsPerImage / 1000);
  console.log(
    `decode+preprocess alone: ${r.prepMsPerImage.toFixed(1)} ms/image sequential, ${r.prepConcurrentPerS.toFixed(1)} images/s concurrent (libuv pool)`,
  );
  printTable(
    BATCHES.map((b) => ({
      batch: b,
      'ceiling img/s': r.ceiling[b]!,
      'bound img/s': bound(b),
      ...(RUN_ROWS.length > 1 ? {} : { 'served img/s': r.served[b]!, 'served/bound': r.served[b]! / bound(b) }),
      ...(RUN_ROWS.length > 1
        ? Object.fromEntries(
            Object.entries(r.servedByRows).flatMap(([k, v]) => [
              [`rows ${k} img/s`, v[b]!],
              [`rows ${k}/bound`, v[b]! / bound(b)],
            ]),
          )
        : {}),
      'transformers.js img/s': r.peer[b] ?? '',
    })),
  );
  if (RUN_ROWS.length > 1)
    console.log(
      `  served peak RSS by CPU_RUN_ROWS: ${Object.entries(r.peakRssByRows)
        .map(([k, v]) => `${k} ${v.toFixed(0)} MiB`)
        .join(', ')} (two served processes were up at once; each figure is its own process)`,
    );
  const b32 = r.served[32]!;
  const checks = [
    [`served batch 32 ≥ 0.9 × 1/(1/ceiling + prep)`, b32 / bound(32), 0.9],
    [
      `32 concurrent clients (1 image each, mean batch ${r.concurrentMeanBatch.toFixed(1)}) ≥ 0.9 × served batch 32`,
      r.concurrent32 / b32,
      0.9,
    ],
    [`served batch 32 ≥ 1.5 × transformers.js batch 32`, b32 / r.peer[32]!, 1.5],
  ] as const;
  for (const [what, ratio, target] of checks)
    console.log(`  ${ratio >= target ? 'PASS' : 'MISS'} ${what}: ${ratio.toFixed(2)}`);
  // A server on the same onnxruntime cannot beat its own ceiling, so this is the most any server could show here.
  console.log(
    `  (upper bound for any server on this onnxruntime: ceiling batch 32 / transformers.js batch 32 = ${(r.ceiling[32]! / r.peer[32]!).toFixed(2)})`,
  );
  const textLimit = 1.2 * r.textTowerB1Ms + 1;
  console.log(
    `  ${r.textServedMs <= textLimit ? 'PASS' : 'MISS'} one text query served in ${r.textServedMs.toFixed(2)} ms median (p90 ${r.textServedP90Ms.toFixed(2)}) ≤ 1.2 × text tower batch 1 (${r.textTowerB1Ms.toFixed(2)} ms) + 1 ms = ${textLimit.toFixed(2)} ms`,
  );
  console.log(
    `  peak RSS of the ${r.family}-embedder (${r.variant}): ${r.peakRssMiB.toFixed(0)} MiB; cosine(ours, transformers.js) on one photo: ${r.peerCosine.toFixed(5)}`,
  );
}

console.log(`# Embedder benchmark${quick ? ' (--quick)' : ''} — ${new Date().toISOString()}`);
for (const line of machine(threads)) console.log(line);
console.log(
  `Photos: COCO JPEGs (${(allPhotos.reduce((a, p) => a + p.length, 0) / allPhotos.length / 1024).toFixed(0)} KiB mean), ${imagesFor('clip')} per pass for CLIP, ${imagesFor('siglip')} for SigLIP; text query: "${TEXT}"`,
);
const results: Result[] = [];
for (const family of families)
  for (const variant of variants) {
    const r = await benchOne(family, variant);
    if (r) results.push(r);
  }
if (!useMini && !quick && !args['no-light']) {
  console.log(
    '\n# Inference-light regime: the reference mini models (real exports, about 1 ms of inference per image or less)',
  );
  for (const family of families) {
    const r = await benchOne(family, 'fp32', true);
    if (r) results.push(r);
  }
}
console.log(
  '\n# Summary (ratios; targets: served/bound ≥ 0.9, 32 clients ≥ 0.9, vs transformers.js ≥ 1.5, text ≤ 1.2 × tower + 1 ms)',
);
printTable(
  results.map((r) => ({
    model: `${r.family} ${r.variant}${r.fullSize ? '' : ' (mini)'}`,
    ...(RUN_ROWS.length > 1
      ? {}
      : { 'served/bound': r.served[32]! / (1 / (1 / r.ceiling[32]! + r.prepMsPerImage / 1000)) }),
    ...(RUN_ROWS.length > 1
      ? Object.fromEntries(
          Object.entries(r.servedByRows).map(([k, v]) => [
            `rows ${k}/bound`,
            v[32]! / (1 / (1 / r.ceiling[32]! + r.prepMsPerImage / 1000)),
          ]),
        )
      : {}),
    '32 clients/batch 32': r.concurrent32 / r.served[32]!,
    'vs transformers.js': r.served[32]! / r.peer[32]!,
    'ceiling/transformers.js': r.ceiling[32]! / r.peer[32]!,
    'text ms (limit)': `${r.textServedMs.toFixed(1)} (${(1.2 * r.textTowerB1Ms + 1).toFixed(1)})`,
    'peak RSS MiB': Math.round(r.peakRssMiB),
  })),
);
console.log(
  `\nload average at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
if (args.json)
  writeFileSync(
    args.json,
    JSON.stringify({ date: new Date().toISOString(), machine: machine(threads), quick, results }, null, 2),
  );
