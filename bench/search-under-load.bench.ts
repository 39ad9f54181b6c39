// Search latency while the embedder is busy indexing: text queries sent to an embedder that two
// clients keep loaded with batches of 32 photos (what the re-embedding worker and ingestion do),
// for several GPU_BATCH_SIZE values side by side in one run. A text query waits for the image batch
// already running, so the batch size bounds search latency; this measures what that costs and saves.
//
//   npx tsx bench/search-under-load.bench.ts [--family clip|siglip] [--variant fp32|quantized] [--batches 32,8]
//                                            [--queries 30] [--rate 2] [--models models/bench] [--fixtures DIR]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, median, percentile, printTable, startServed } from './embedders-support.js';
import { defaultIntraOpThreads } from '@image-search/embedding';

const { values: args } = parseArgs({
  options: {
    family: { type: 'string', default: 'clip' },
    variant: { type: 'string', default: 'fp32' },
    batches: { type: 'string', default: '32,8' },
    queries: { type: 'string', default: '30' },
    rate: { type: 'string', default: '2' },
    models: { type: 'string', default: 'models/bench' },
    fixtures: { type: 'string', default: resolve(import.meta.dirname, '../../shared/fixtures') },
  },
});
const family = args.family as 'clip' | 'siglip';
const dir = resolve(args.models, family);
const cocoDir = join(args.fixtures, 'images/coco');
if (!existsSync(join(dir, 'onnx')) || !existsSync(cocoDir)) {
  console.error(
    `needs the full-size model at ${dir} (npx nx run tools:make-bench-models -- --out ${args.models}) and the COCO photos at ${cocoDir} (--fixtures DIR)`,
  );
  process.exit(2);
}
const photos = readdirSync(cocoDir)
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .slice(0, 32)
  .map((f) => ({ data: readFileSync(join(cocoDir, f)) }));
const QUERIES = Number(args.queries);
const LOADERS = 2;
const RATE = Number(args.rate);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

console.log(`# Search under indexing load — ${new Date().toISOString()}`);
for (const line of machine(defaultIntraOpThreads())) console.log(line);
console.log(
  `Model: ${dir} (${args.variant}); load: ${LOADERS} clients each sending batches of ${photos.length} COCO photos back to back; ${QUERIES} text queries at ${RATE} per second (open loop)\n`,
);

const rows: Record<string, string | number>[] = [];
for (const batch of args.batches.split(',').map(Number)) {
  const served = await startServed(family, {
    MODEL_DIR: dir,
    MODEL_VARIANT: args.variant,
    GPU_BATCH_SIZE: String(batch),
    MAX_REQUEST_ITEMS: '64',
    QUEUE_CAPACITY: '256',
  });
  try {
    const c = served.client;
    await c.embedImages(photos.slice(0, 8));
    let stop = false;
    const loaders = Array.from({ length: LOADERS }, async () => {
      while (!stop) await c.embedImages(photos);
    });
    // Images embedded, counted by the server as each batch finishes (a client-side count moves in steps of 32).
    const embedded = () => served.metric('embedder_items_total', { tower: 'image' });
    await sleep(2000);
    // Images alone first, then with queries in between, over windows of about the same length.
    let [n0, t0] = [await embedded(), performance.now()];
    await sleep((1000 * QUERIES) / RATE);
    const alone = ((await embedded()) - n0) / ((performance.now() - t0) / 1000);
    [n0, t0] = [await embedded(), performance.now()];
    // Open loop at a fixed rate, so every batch size gets the same query load.
    const lat: number[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const t = performance.now();
      pending.push(c.embedTexts([`a dog running on the beach ${i}`]).then(() => void lat.push(performance.now() - t)));
      await sleep(1000 / RATE);
    }
    await Promise.all(pending);
    const withQueries = ((await embedded()) - n0) / ((performance.now() - t0) / 1000);
    stop = true;
    await Promise.all(loaders);
    rows.push({
      GPU_BATCH_SIZE: batch,
      'images/s alone': alone,
      'images/s with queries': withQueries,
      'query p50 ms': median(lat),
      'query p90 ms': percentile(lat, 90),
    });
    process.stderr.write(`  GPU_BATCH_SIZE ${batch}: done\n`);
  } finally {
    await served.stop();
  }
}
printTable(rows);
