// Idle-unload memory benchmark (MODEL_IDLE_UNLOAD_S, issue #15 item 3): starts the real embedder app, embeds
// photos and texts, waits until the metrics say both towers are unloaded, and reads the resident memory of the
// app process (where the towers' threads live) and of its whole process tree (with the decode workers) from
// /proc: after the load, after the unload, after a call brought each tower back, for several cycles (memory
// that grew cycle after cycle would show as a leak). Also prints how long the first call after an unload took.
//
//   npx tsx bench/embedders-idle-unload.bench.ts [--models models/bench] [--family clip|siglip|both]
//                                               [--variant fp32|quantized|both] [--idle 30] [--cycles 3]
//
// Memory figures do not depend on the machine's load; the reload times do (the load average is printed).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { waitFor } from '@image-search/testing';
import { machine, printTable, rssKiB, startServed, timed, tree, type Served } from './embedders-support.js';
import { defaultIntraOpThreads } from '@image-search/embedding';

const { values: args } = parseArgs({
  options: {
    family: { type: 'string', default: 'clip' },
    variant: { type: 'string', default: 'both' },
    models: { type: 'string', default: 'models/bench' },
    idle: { type: 'string', default: '30' },
    cycles: { type: 'string', default: '3' },
    fixtures: { type: 'string', default: resolve(import.meta.dirname, '../../shared/fixtures') },
  },
});
const families = (args.family === 'both' ? ['clip', 'siglip'] : [args.family]) as ('clip' | 'siglip')[];
const variants = (args.variant === 'both' ? ['fp32', 'quantized'] : [args.variant]) as ('fp32' | 'quantized')[];
const cocoDir = join(args.fixtures, 'images/coco');
if (!existsSync(cocoDir)) {
  console.error(`COCO photos not found at ${cocoDir}; pass --fixtures DIR (the reference fixtures folder).`);
  process.exit(2);
}
const photos = readdirSync(cocoDir)
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .slice(0, 16)
  .map((f) => ({ data: readFileSync(join(cocoDir, f)) }));

/** Resident MiB now: the app process alone and its process tree. */
function rss(pid: number): { main: number; tree: number } {
  return { main: rssKiB(pid) / 1024, tree: tree(pid).reduce((a, p) => a + rssKiB(p), 0) / 1024 };
}

async function towersAre(s: Served, state: string): Promise<boolean> {
  const [i, t] = await Promise.all(
    (['image', 'text'] as const).map((tower) => s.metric('embedder_tower_state', { tower, state })),
  );
  return i === 1 && t === 1;
}

async function work(s: Served): Promise<{ textMs: number; imageMs: number }> {
  // Both first calls at once, as a search and an ingest after a quiet night would come.
  const [[, textMs], [, imageMs]] = await Promise.all([
    timed(() => s.client.embedTexts(['a dog running on the beach'])),
    timed(() => s.client.embedImages(photos.slice(0, 8))),
  ]);
  // Then both towers at work side by side, so neither idles out before the memory is read.
  await Promise.all([
    (async () => {
      for (let k = 0; k < photos.length; k += 8) await s.client.embedImages(photos.slice(k, k + 8));
    })(),
    (async () => {
      for (let i = 0; i < 10; i++) await s.client.embedTexts([`query ${i}`]);
    })(),
  ]);
  return { textMs, imageMs };
}

type Row = Record<string, string | number>;

async function one(family: 'clip' | 'siglip', variant: 'fp32' | 'quantized'): Promise<Row[]> {
  const dir = resolve(args.models, family);
  if (!existsSync(join(dir, 'onnx'))) {
    console.log(
      `## ${family} ${variant}: SKIPPED (no ${dir}: npx nx run tools:make-bench-models -- --out models/bench)`,
    );
    return [];
  }
  const s = await startServed(family, {
    MODEL_DIR: dir,
    MODEL_VARIANT: variant,
    INTRA_OP_THREADS: String(defaultIntraOpThreads()),
    MODEL_IDLE_UNLOAD_S: args.idle,
  });
  const pid = s.proc.child.pid!;
  const rows: Row[] = [];
  const row = async (phase: string, ms?: { textMs: number; imageMs: number }) => {
    const r = rss(pid);
    const state = async (tower: string) =>
      (await s.metric('embedder_tower_state', { tower, state: 'loaded' })) === 1 ? 'loaded' : 'not loaded';
    rows.push({
      model: `${family} ${variant === 'quantized' ? 'int8' : variant}`,
      phase,
      image: await state('image'),
      text: await state('text'),
      'main MiB': Math.round(r.main),
      'tree MiB': Math.round(r.tree),
      'first text call ms': ms ? Math.round(ms.textMs) : '',
      'first image call ms': ms ? Math.round(ms.imageMs) : '',
    });
  };
  try {
    await row('started (both loaded, warmed up)');
    for (let c = 1; c <= Number(args.cycles); c++) {
      const { textMs, imageMs } = await work(s);
      await row(`cycle ${c}: after the calls`, { textMs, imageMs });
      await waitFor('both towers unloaded', () => towersAre(s, 'unloaded'), 120_000, 100);
      // The threads end right after the state flips; give the OS a moment to take the pages back.
      await new Promise((r) => setTimeout(r, 1000));
      await row(`cycle ${c}: both unloaded`);
    }
    // How long the reloads themselves took (the server's histogram), beside the first calls that waited for them.
    for (const tower of ['image', 'text']) {
      const [sum, count] = await Promise.all([
        s.metric('embedder_tower_reload_seconds_sum', { tower }),
        s.metric('embedder_tower_reload_seconds_count', { tower }),
      ]);
      if (count > 0)
        console.log(
          `  ${family} ${variant} ${tower} tower: ${count} reloads, mean ${((sum / count) * 1000).toFixed(0)} ms`,
        );
    }
    return rows;
  } finally {
    const code = await s.stop();
    if (code !== 0) console.log(`  (embedder exited with ${code})`);
  }
}

console.log(`# Embedder idle-unload benchmark — ${new Date().toISOString()}`);
for (const line of machine(defaultIntraOpThreads())) console.log(line);
console.log(
  `MODEL_IDLE_UNLOAD_S=${args.idle}; each cycle: 1 text beside a batch of 8 photos (timed: from cycle 2 on these load the towers again), ${photos.length} COCO photos in batches of 8 beside 10 texts; then wait for both towers to unload`,
);
const rows: Row[] = [];
for (const family of families) for (const variant of variants) rows.push(...(await one(family, variant)));
printTable(rows);
