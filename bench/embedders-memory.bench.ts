// Embedder peak-RSS benchmark: starts the real embedder app (CLIP and SigLIP, fp32 and int8), drives it
// with the embedders bench's load (one client sending batches of 1..32 photos, 32 concurrent clients
// with one photo each, text queries) and samples the resident memory of the service's whole process
// tree (the app, its inference threads and its decode worker processes) from /proc every 25 ms. Prints
// the peak against the target of issue #15: 1.5 × the weights (both towers' ONNX files) + 200 MiB.
//
//   npx tsx bench/embedders-memory.bench.ts [--models models/bench] [--family clip|siglip|both]
//                                          [--variant fp32|quantized|both] [--images 64] [--env K=V,K=V] [--json FILE]
//                                          [--built]   (the compiled bundle, as the Dockerfiles run it)
//                                          [--dist DIR] (with --built: another build's folder, default dist)
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
    // With --built: the folder holding apps/<family>-embedder (default dist), to compare another build.
    dist: { type: 'string', default: 'dist' },
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

/** VmRSS split into anonymous (heaps, arenas, weights) and file-backed (code, mapped files) KiB, and PSS. */
function statusOf(pid: number): { rss: number; anon: number; file: number } {
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(t)?.[1] ?? 0);
    return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') + kib('RssShmem') };
  } catch {
    return { rss: 0, anon: 0, file: 0 };
  }
}
const pssKiB = (pid: number) => {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

/**
 * Samples RSS of the process tree; tracks the peak of the sum, of the main process alone, and of the
 * tree's PSS (shared pages such as node's own code counted once across processes, as a cgroup does).
 */
function sampler(pid: number) {
  const peak = { treeKiB: 0, mainKiB: 0, pssKiB: 0, processes: 0, rollup: '', parts: '' };
  let n = 0;
  const tick = () => {
    const pids = tree(pid);
    const st = pids.map(statusOf);
    const main = st[0]!.rss;
    const sum = st.reduce((a, p) => a + p.rss, 0);
    if (main > peak.mainKiB) {
      peak.mainKiB = main;
      try {
        // Where the main process's memory sits at its peak: anonymous (heap, arenas) vs file-backed.
        peak.rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
          .split('\n')
          .filter((l) => /^(Rss|Pss|Anonymous|Private_Dirty|Shared_Clean|Private_Clean):/.test(l))
          .map((l) => l.replace(/\s+/g, ' ').replace(' kB', 'k'))
          .join(', ');
      } catch {
        // gone
      }
    }
    if (sum > peak.treeKiB) {
      [peak.treeKiB, peak.processes] = [sum, pids.length];
      // Each process at the tree's peak: RSS = anonymous + file-backed, MiB.
      peak.parts = st
        .map(
          (p, i) =>
            `${i === 0 ? 'main' : `child${i}`} ${(p.rss / 1024).toFixed(0)} (anon ${(p.anon / 1024).toFixed(0)} + file ${(p.file / 1024).toFixed(0)})`,
        )
        .join('; ');
    }
    // PSS walks every page table entry: every 4th tick (100 ms) is enough for a peak that lasts a batch.
    if (n++ % 4 === 0)
      peak.pssKiB = Math.max(
        peak.pssKiB,
        pids.reduce((a, p) => a + pssKiB(p), 0),
      );
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
  peakPssMiB: number;
  processes: number;
  rollup: string;
  parts: string;
  hwm: string;
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
    { built: args.built, dist: args.dist },
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
    // Each process's own peak (VmHWM): a decode worker's peak need not fall at the tree's.
    const hwm = tree(served.proc.child.pid!)
      .map((p, i) => {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
        return `${i === 0 ? 'main' : `child${i}`} ${(Number(m?.[1] ?? 0) / 1024).toFixed(0)}`;
      })
      .join('; ');
    return {
      hwm,
      family,
      variant,
      weightsMiB: weights / MiB,
      targetMiB: (1.5 * weights) / MiB + 200,
      idleMiB,
      peakTreeMiB: s.peak.treeKiB / 1024,
      peakMainMiB: s.peak.mainKiB / 1024,
      peakPssMiB: s.peak.pssKiB / 1024,
      processes: s.peak.processes,
      rollup: s.peak.rollup,
      parts: s.peak.parts,
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
    console.log(`    each process at the tree's peak, MiB: ${r.parts}`);
    console.log(`    each process's own peak (VmHWM), MiB: ${r.hwm}`);
    console.log(`    tree PSS peak (shared pages counted once): ${r.peakPssMiB.toFixed(0)} MiB`);
  }
printTable(
  rows.map((r) => ({
    model: `${r.family} ${r.variant === 'quantized' ? 'int8' : r.variant}`,
    'weights MiB': Math.round(r.weightsMiB),
    'idle MiB': Math.round(r.idleMiB),
    'peak tree MiB': Math.round(r.peakTreeMiB),
    'peak main MiB': Math.round(r.peakMainMiB),
    'peak tree PSS MiB': Math.round(r.peakPssMiB),
    'target MiB': Math.round(r.targetMiB),
    'peak/weights': (r.peakTreeMiB / r.weightsMiB).toFixed(2),
    met: r.peakTreeMiB <= r.targetMiB ? 'yes' : 'NO',
  })),
);
if (args.json)
  writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), env: extraEnv, rows }, null, 2));
