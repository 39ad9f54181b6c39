// Embedder peak-RSS benchmark: starts the real embedder app (CLIP and SigLIP, fp32 and int8), drives it
// with the embedders bench's load (one client sending batches of 1..32 photos, 32 concurrent clients
// with one photo each, text queries) and samples the resident memory of the service's whole process
// tree (the app, its inference threads and its decode worker processes) from /proc every 25 ms. Prints
// the peak against the target of issue #15: 1.5 × the weights (both towers' ONNX files) + 200 MiB.
//
//   npx tsx bench/embedders-memory.bench.ts [--models models/bench] [--family clip|siglip|both]
//                                          [--variant fp32|quantized|both] [--images 64] [--env K=V,K=V] [--json FILE]
//                                          [--built]   (the compiled bundle, as the Dockerfiles run it)
//
// Memory figures do not depend on the machine's load (timings would); the load is printed anyway.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbedderClient } from '@image-search/embedder-client';
import { machine, printTable, progress, rssKiB, startServed, tree } from './embedders-support.js';
import { defaultIntraOpThreads } from '@image-search/embedding';

const { values: args } = parseArgs({
  options: {
    family: { type: 'string', default: 'both' },
    variant: { type: 'string', default: 'both' },
    models: { type: 'string', default: 'models/bench' },
    images: { type: 'string', default: '64' },
    env: { type: 'string', default: '' },
    // The compiled bundle under plain node, as the Dockerfiles run it (npx nx run <family>-embedder:build).
    built: { type: 'boolean', default: false },
    json: { type: 'string' },
    fixtures: { type: 'string', default: resolve(import.meta.dirname, '../../shared/fixtures') },
  },
});
const MiB = 2 ** 20;
const families = (args.family === 'both' ? ['clip', 'siglip'] : [args.family]) as ('clip' | 'siglip')[];
const variants = (args.variant === 'both' ? ['fp32', 'quantized'] : [args.variant]) as ('fp32' | 'quantized')[];
const extraEnv = Object.fromEntries(
  args.env
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const cocoDir = join(args.fixtures, 'images/coco');
if (!existsSync(cocoDir)) {
  console.error(`COCO photos not found at ${cocoDir}; pass --fixtures DIR (the reference fixtures folder).`);
  process.exit(2);
}
const files = readdirSync(cocoDir)
  .filter((f) => f.endsWith('.jpg'))
  .sort();
const photos = Array.from({ length: Number(args.images) }, (_, i) => ({
  data: readFileSync(join(cocoDir, files[i % files.length]!)),
}));

/** Samples RSS of the process tree; tracks the peak of the sum and of the main process alone. */
function sampler(pid: number) {
  const peak = { treeKiB: 0, mainKiB: 0, processes: 0, rollup: '' };
  const tick = () => {
    const pids = tree(pid);
    const main = rssKiB(pid);
    const sum = pids.reduce((a, p) => a + (p === pid ? main : rssKiB(p)), 0);
    if (main > peak.mainKiB) {
      peak.mainKiB = main;
      try {
        // Where the main process's memory sits at its peak: anonymous (heap, arenas) vs file-backed.
        peak.rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
          .split('\n')
          .filter((l) => /^(Rss|Anonymous|Private_Dirty|Shared_Clean|Private_Clean):/.test(l))
          .map((l) => l.replace(/\s+/g, ' ').replace(' kB', 'k'))
          .join(', ');
      } catch {
        // gone
      }
    }
    if (sum > peak.treeKiB) [peak.treeKiB, peak.processes] = [sum, pids.length];
  };
  const timer = setInterval(tick, 25);
  return {
    peak,
    now: () => tree(pid).reduce((a, p) => a + rssKiB(p), 0),
    stop: () => clearInterval(timer),
  };
}

const weightsOf = (dir: string, variant: 'fp32' | 'quantized') =>
  ['vision_model', 'text_model']
    .map((t) => statSync(join(dir, 'onnx', `${t}${variant === 'quantized' ? '_quantized' : ''}.onnx`)).size)
    .reduce((a, b) => a + b, 0);

interface Row {
  family: string;
  variant: string;
  weightsMiB: number;
  targetMiB: number;
  idleMiB: number;
  peakTreeMiB: number;
  peakMainMiB: number;
  processes: number;
  rollup: string;
}

async function one(family: 'clip' | 'siglip', variant: 'fp32' | 'quantized'): Promise<Row | undefined> {
  const dir = resolve(args.models, family);
  if (!existsSync(join(dir, 'onnx'))) {
    console.log(
      `## ${family} ${variant}: SKIPPED (no ${dir}: npx nx run tools:make-bench-models -- --out models/bench)`,
    );
    return undefined;
  }
  const weights = weightsOf(dir, variant);
  const served = await startServed(
    family,
    {
      MODEL_DIR: dir,
      MODEL_VARIANT: variant,
      INTRA_OP_THREADS: String(defaultIntraOpThreads()),
      GPU_BATCH_SIZE: '32',
      MAX_REQUEST_ITEMS: '64',
      QUEUE_CAPACITY: '256',
      ...extraEnv,
    },
    { built: args.built },
  );
  const s = sampler(served.proc.child.pid!);
  const started = performance.now();
  try {
    await new Promise((r) => setTimeout(r, 500));
    const idleMiB = s.now() / 1024;
    const c = served.client;
    // One client: batches of 1 to 32 photos, each size over all photos.
    const batches = [1, 2, 4, 8, 16, 32];
    for (const [i, b] of batches.entries()) {
      for (let k = 0; k < photos.length; k += b) await c.embedImages(photos.slice(k, k + b));
      progress(`${family} ${variant} one client`, i + 1, batches.length + 2, started);
    }
    // 32 clients on their own connections, one photo at a time, 128 photos in all.
    const clients = Array.from(
      { length: 32 },
      () =>
        new EmbedderClient({
          address: served.address,
          defaultDeadlineMs: 600_000,
          channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
        }),
    );
    let next = 0;
    await Promise.all(
      clients.map(async (k) => {
        while (next < 128) await k.embedImages([photos[next++ % photos.length]!]);
      }),
    );
    for (const k of clients) k.close();
    progress(`${family} ${variant} 32 clients`, batches.length + 1, batches.length + 2, started);
    // Text queries, alone and while a batch is running.
    for (let i = 0; i < 10; i++) await c.embedTexts(['a dog running on the beach']);
    await Promise.all([
      c.embedImages(photos.slice(0, 32)),
      c.embedTexts(Array.from({ length: 32 }, (_, i) => `q${i}`)),
    ]);
    progress(`${family} ${variant} text`, batches.length + 2, batches.length + 2, started);
    await new Promise((r) => setTimeout(r, 100));
    return {
      family,
      variant,
      weightsMiB: weights / MiB,
      targetMiB: (1.5 * weights) / MiB + 200,
      idleMiB,
      peakTreeMiB: s.peak.treeKiB / 1024,
      peakMainMiB: s.peak.mainKiB / 1024,
      processes: s.peak.processes,
      rollup: s.peak.rollup,
    };
  } finally {
    s.stop();
    const code = await served.stop();
    if (code !== 0) console.log(`  (embedder exited with ${code})`);
  }
}

console.log(`# Embedder peak-RSS benchmark — ${new Date().toISOString()}`);
for (const line of machine(defaultIntraOpThreads())) console.log(line);
console.log(
  args.built
    ? `App: compiled bundle dist/apps/<family>-embedder/main.mjs under plain node (as the Dockerfiles run it)`
    : `App: TypeScript sources through tsx (development; --built runs the compiled bundle as in production)`,
);
if (Object.keys(extraEnv).length) console.log(`Extra embedder environment: ${JSON.stringify(extraEnv)}`);
console.log(
  `Load: one client sending batches of 1, 2, 4, 8, 16, 32 over ${photos.length} COCO photos, 32 concurrent clients with one photo each (128), 10 text queries, then a batch of 32 texts beside a batch of 32 photos; GPU_BATCH_SIZE=32`,
);
const rows: Row[] = [];
for (const family of families)
  for (const variant of variants) {
    const r = await one(family, variant);
    if (!r) continue;
    rows.push(r);
    console.log(
      `  ${r.peakTreeMiB <= r.targetMiB ? 'PASS' : 'MISS'} ${family} ${variant}: peak RSS ${r.peakTreeMiB.toFixed(0)} MiB (process tree, ${r.processes} processes; main process ${r.peakMainMiB.toFixed(0)} MiB) ≤ 1.5 × ${r.weightsMiB.toFixed(0)} MiB weights + 200 MiB = ${r.targetMiB.toFixed(0)} MiB`,
    );
    console.log(`    main process at its peak: ${r.rollup}`);
  }
printTable(
  rows.map((r) => ({
    model: `${r.family} ${r.variant === 'quantized' ? 'int8' : r.variant}`,
    'weights MiB': Math.round(r.weightsMiB),
    'idle MiB': Math.round(r.idleMiB),
    'peak tree MiB': Math.round(r.peakTreeMiB),
    'peak main MiB': Math.round(r.peakMainMiB),
    'target MiB': Math.round(r.targetMiB),
    'peak/weights': (r.peakTreeMiB / r.weightsMiB).toFixed(2),
    met: r.peakTreeMiB <= r.targetMiB ? 'yes' : 'NO',
  })),
);
if (args.json)
  writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), env: extraEnv, rows }, null, 2));
