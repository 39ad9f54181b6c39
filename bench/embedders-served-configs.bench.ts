// Where served image throughput goes: the real embedder app started once per configuration (environment
// overrides), all measured at batch 32 in the same alternating passes as onnxruntime on prepared tensors
// (the ceiling) and sequential decode+preprocess in this process, so every configuration's ratio to the bound
// is side by side. Per configuration it prints the wall time per image, the server's own inference time per
// image (embedder_inference_seconds), batches per request and the main process's peak RSS.
//
//   npx tsx bench/embedders-served-configs.bench.ts [--family clip|siglip] [--variant fp32|quantized] [--passes 5]
//       [--models models/bench] 'default:' 'whole:CPU_RUN_ROWS=0' 'heap:MALLOC_MMAP_THRESHOLD_=unset' ...
//
// Each argument is NAME:K=V,K=V; the value `unset` removes a variable the bench would set (MALLOC_MMAP_THRESHOLD_).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultIntraOpThreads, loadEmbeddingModel } from '@image-search/embedding';
import { machine, median, startServed, throughput } from './embedders-support.js';

const { values: args, positionals: specs } = parseArgs({
  allowPositionals: true,
  options: {
    family: { type: 'string', default: 'clip' },
    variant: { type: 'string', default: 'quantized' },
    passes: { type: 'string', default: '5' },
    models: { type: 'string', default: 'models/bench' },
    fixtures: { type: 'string', default: resolve(import.meta.dirname, '../../shared/fixtures') },
  },
});
const family = args.family as 'clip' | 'siglip';
const variant = args.variant as 'fp32' | 'quantized';
const PASSES = Number(args.passes);
const B = 32;
const threads = defaultIntraOpThreads();
const dir = resolve(args.models, family);
const coco = join(args.fixtures, 'images/coco');
const photos = readdirSync(coco)
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .slice(0, family === 'clip' ? 64 : 32)
  .map((f) => readFileSync(join(coco, f)));
for (const l of machine(threads)) console.log(l);
console.log(`${family} ${variant}, batch ${B}, ${photos.length} COCO photos per pass, ${PASSES} alternating passes`);

const model = await loadEmbeddingModel({ modelDir: dir, family, variant, intraOpThreads: threads });
await model.warmUp();
const pixels = await Promise.all(photos.map((p) => model.preprocessImage(p)));
await model.embedPixels(pixels.slice(0, B));
const fleet = [];
try {
  for (const spec of specs.length ? specs : ['default:']) {
    const [name = spec, kv = ''] = spec.split(':');
    const env: Record<string, string | undefined> = {};
    for (const pair of kv.split(',').filter(Boolean)) {
      const [k, v] = pair.split('=');
      env[k!] = v === 'unset' ? undefined : v;
    }
    const s = await startServed(family, {
      MODEL_DIR: dir,
      MODEL_VARIANT: variant,
      INTRA_OP_THREADS: String(threads),
      GPU_BATCH_SIZE: String(B),
      MAX_REQUEST_ITEMS: '64',
      QUEUE_CAPACITY: '256',
      // Node's spawn leaves out variables whose value is undefined.
      ...(env as Record<string, string>),
    });
    fleet.push({ name, s, walls: [] as number[], inf: [] as number[], batches: [] as number[] });
    await s.client.embedImages(photos.slice(0, B).map((data) => ({ data })));
  }
  const [ceil, prep]: number[][] = [[], []];
  console.log(`load average at the start: ${loadavg()[0]!.toFixed(2)}`);
  for (let p = 0; p < PASSES; p++) {
    ceil.push(1000 / (await throughput(pixels, B, (x) => model.embedPixels(x))));
    const t0 = performance.now();
    for (const ph of photos.slice(0, 16)) await model.preprocessImage(ph);
    prep.push((performance.now() - t0) / 16);
    for (const f of fleet) {
      const m = (k: string) => f.s.metric(`embedder_inference_seconds_${k}`, { tower: 'image' });
      const [i0, c0] = [await m('sum'), await m('count')];
      const rate = await throughput(
        photos.map((data) => ({ data })),
        B,
        (x) => f.s.client.embedImages(x),
      );
      const [i1, c1] = [await m('sum'), await m('count')];
      f.walls.push(1000 / rate);
      f.inf.push(((i1 - i0) * 1000) / photos.length);
      f.batches.push((c1 - c0) / (photos.length / B));
    }
  }
  const [c, pr] = [median(ceil), median(prep)];
  console.log(
    `ceiling ${c.toFixed(2)} ms/img, decode+preprocess ${pr.toFixed(2)} ms/img, bound ${(c + pr).toFixed(2)} ms/img`,
  );
  console.log(
    '| configuration | served ms/img | served/bound | server inference ms/img | batches/request | peak RSS MiB |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const f of fleet) {
    const w = median(f.walls);
    const rss = (await f.s.metric('embedder_process_peak_rss_bytes')) / 2 ** 20;
    console.log(
      `| ${f.name} | ${w.toFixed(2)} | ${((c + pr) / w).toFixed(2)} | ${median(f.inf).toFixed(2)} | ${median(f.batches).toFixed(1)} | ${rss.toFixed(0)} |`,
    );
  }
  console.log(`load average at the end: ${loadavg()[0]!.toFixed(2)}`);
} finally {
  for (const f of fleet) await f.s.stop();
  await model.close();
}
