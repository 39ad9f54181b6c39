// Soak (a script, not a test): mixed read traffic (60 % distinct text searches, 30 % cached thumbnails,
// 10 % asset views) at 32 closed-loop clients against the gateway for 10 minutes while a re-embedding run
// (the real worker, SigLIP embedder, Redis, BullMQ) writes into the SigLIP collection of the same store.
// Prints per-minute req/s, p50/p99, errors, the gateway's RSS and the run's progress; the targets are
// 0 errors and the gateway's RSS growing at most 10 % after the warm-up minute.
//   npx tsx bench/gateway-soak.ts [--minutes 10] [--photos 1500] [--connections 32] [--warmup 1]
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { collectionSchema } from '@image-search/collection-schema';
import { EmbedderClient } from '@image-search/embedder-client';
import type { UpsertPoint } from '@image-search/vector-store';
import { freePort, startEmbedderProcess, startTsProcess, testEnv, waitFor } from '@image-search/testing';
import { CLIP, ReembedWorld, SIGLIP, startSiglipEmbedder } from '../apps/reembed-worker/test/harness.js';
import { machine, printTable } from './embedders-support.js';
import { LanceAssetCatalogue } from '@image-search/asset-catalogue';
import { catalogueEntryOf, loadRun, pointFor, type ReadsBenchOptions } from './gateway-reads.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    photos: { type: 'string', default: '1500' },
    connections: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '1' },
    // Minutes after which the gateway writes a V8 heap snapshot (SIGUSR2), e.g. 3,9; into tmp/soak-heap.
    'heap-snapshots': { type: 'string', default: '' },
  },
});
const MINUTES = Number(args.minutes);
const PHOTOS = Number(args.photos);
const WARMUP = Number(args.warmup);
const SNAPSHOT_AT = new Set(args['heap-snapshots'] ? args['heap-snapshots'].split(',').map(Number) : []);
const SNAPSHOT_DIR = resolve('tmp/soak-heap');

/** Small photo-like JPEGs (noise over a colour) the worker really reads and embeds. */
async function photos(dir: string, n: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const noise = Buffer.from(Array.from({ length: 120 * 90 * 3 }, () => Math.floor(Math.random() * 256)));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `photo-${i}.jpg`);
    await sharp({
      create: { width: 480, height: 360, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: 90 } },
    })
      .composite([{ input: noise, raw: { width: 120, height: 90, channels: 3 }, tile: true, blend: 'overlay' }])
      .jpeg({ quality: 80 })
      .toFile(p);
    out.push(p);
    if (i % 100 === 99) process.stderr.write(`\r  photos: ${i + 1}/${n}   `);
  }
  process.stderr.write('\n');
  return out;
}

function rssMiB(pid: number | undefined): number {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);
  } catch {
    return Number.NaN;
  }
}

/** Where the gateway's memory is (MiB), from its /metrics: the JS heap (used and committed), memory outside it, the caches. */
async function memoryMiB(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text().catch(() => '');
  const g = (name: string) =>
    Math.round(Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20);
  return {
    heap: g('gateway_nodejs_heap_size_used_bytes'),
    heapTotal: g('gateway_nodejs_heap_size_total_bytes'),
    external: g('gateway_nodejs_external_memory_bytes'),
    arrayBuffers: g('gateway_nodejs_array_buffers_bytes'),
    resultCache: g('gateway_search_cache_bytes\\{cache="result"\\}'),
    queryCache: g('gateway_search_cache_bytes\\{cache="query"\\}'),
    storeCache: g('gateway_vector_store_cache_bytes'),
  };
}

/** Makes the gateway write a heap snapshot (its main thread stops meanwhile) and waits until it is written. */
async function heapSnapshot(pid: number, url: string, label: string): Promise<string> {
  const before = new Set(readdirSync(SNAPSHOT_DIR));
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  await waitFor(
    'heap snapshot started',
    async () => {
      file = readdirSync(SNAPSHOT_DIR).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
      return file !== undefined;
    },
    120_000,
    200,
  );
  // Written synchronously on the gateway's main thread: /health answers once it is done (a kept-alive
  // connection the gateway closed meanwhile fails: asked again).
  await waitFor(
    'heap snapshot written',
    async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true,
    600_000,
    500,
  );
  const named = join(SNAPSHOT_DIR, `${label}.heapsnapshot`);
  renameSync(join(SNAPSHOT_DIR, file!), named);
  return named;
}

async function main(): Promise<void> {
  console.log(`# Gateway soak — ${new Date().toISOString()}`);
  for (const line of machine(0)) console.log(line);
  const world = await new ReembedWorld().init();
  const procs: { stop: (s?: NodeJS.Signals) => Promise<unknown> }[] = [];
  try {
    const root = join(world.dir, 'photos');
    const files = await photos(root, PHOTOS);
    const clipEmb = await startEmbedderProcess('clip');
    procs.push({ stop: () => clipEmb.proc.stop('SIGKILL') });
    const siglip = await startSiglipEmbedder();
    procs.push({ stop: () => siglip.stop() });
    const dim = await dimOf(clipEmb.addr);
    await world.store.ensureCollection(collectionSchema('clip', { name: CLIP, vectorSize: dim }));
    const pts: UpsertPoint[] = files.map((f, j) => pointFor(j, dim, f));
    for (let i = 0; i < pts.length; i += 500) await world.store.upsert(CLIP, pts.slice(i, i + 500));
    // The catalogue ingest writes beside the vectors: a thumbnail not made yet is rendered from its entry.
    const catalogue = await LanceAssetCatalogue.open({ dataDir: world.dataDir });
    await catalogue.upsert(pts.map(catalogueEntryOf));
    await catalogue.close();
    const ids = pts.map((p) => p.assetId);
    console.log(`Store: ${ids.length} CLIP points (${dim}-d, demo 'colour' model), each with a real JPEG`);

    const port = await freePort();
    if (SNAPSHOT_AT.size) mkdirSync(SNAPSHOT_DIR, { recursive: true });
    const gw = startTsProcess(
      'apps/gateway/src/main.ts',
      {
        GATEWAY_PORT: String(port),
        CLIP_EMBEDDER_URL: clipEmb.addr,
        SIGLIP_EMBEDDER_URL: siglip.address,
        DATA_DIR: world.dataDir,
        CLIP_COLLECTION: CLIP,
        SIGLIP_COLLECTION: SIGLIP,
        CLIP_EMBEDDING_DIM: '0',
        SIGLIP_EMBEDDING_DIM: '0',
        ASSET_ROOTS: root,
        RATE_LIMIT_SEARCH_PER_MIN: '0',
        RATE_LIMIT_UPLOAD_PER_MIN: '0',
        REDIS_URL: testEnv.redisUrl,
        QUEUE_PREFIX: world.prefix,
        INGEST_WORKER: 'false',
        LOG_LEVEL: 'warn',
      },
      [],
      SNAPSHOT_AT.size ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOT_DIR}`] : [],
    );
    procs.push({ stop: () => gw.stop('SIGTERM', 20_000) });
    const url = `http://127.0.0.1:${port}`;
    try {
      // Minutes on a busy shared machine: the gateway compiles its TypeScript at start.
      await waitFor('gateway ready', async () => (await fetch(`${url}/ready`)).status === 200, 400_000, 500);
    } catch (err) {
      console.error(gw.output().slice(-4000));
      throw err;
    }
    const thumbnails: string[] = [];
    for (const id of ids.slice(0, 300)) {
      const view = (await (await fetch(`${url}/api/v1/assets/${id}`)).json()) as { asset: { thumbnail_url: string } };
      const t = await fetch(`${url}${view.asset.thumbnail_url}`);
      if (t.status !== 200) throw new Error(`thumbnail of ${id}: HTTP ${t.status}`);
      thumbnails.push(view.asset.thumbnail_url);
    }
    const idsFile = join(world.dir, 'soak-ids.json');
    writeFileSync(idsFile, JSON.stringify({ ids, thumbnails }));

    // The re-embedding run, paced to last the soak: the worker writes small batches all along.
    const rate = Math.max(1, Math.ceil(ids.length / (MINUTES * 60)));
    world.startWorker(siglip, root, { REEMBED_RATE_PER_S: String(rate), REEMBED_CONCURRENCY: '1', LOG_LEVEL: 'warn' });
    await world.control.start({ batchSize: 16 });
    console.log(`Re-embedding run: ${ids.length} assets at ${rate}/s, batches of 16 (CLIP -> SigLIP)\n`);

    // loadRun reads these fields only (fill and points make the query texts distinct across runs).
    const o = {
      connections: Number(args.connections),
      durationS: 60,
      fill: 'soak',
      points: ids.length,
    } as unknown as ReadsBenchOptions;
    const rows: Record<string, string | number>[] = [];
    const rss: number[] = [];
    let errors = 0;
    for (let m = 1; m <= MINUTES; m++) {
      const f = await loadRun(url, 'mixed', { ...o, fill: `soak${m}-` as ReadsBenchOptions['fill'] }, idsFile);
      const s = await world.control.status();
      rss.push(rssMiB(gw.child.pid));
      const mem = await memoryMiB(url);
      if (m > WARMUP) errors += f.errors;
      rows.push({
        minute: `${m}${m <= WARMUP ? ' (warm-up)' : ''}`,
        'req/s': f.rps,
        'p50 ms': f.p50,
        'p99 ms': f.p99,
        errors: f.errors,
        'RSS MiB': rss.at(-1) ?? Number.NaN,
        'heap used/total MiB': `${mem.heap}/${mem.heapTotal}`,
        'external (array buffers) MiB': `${mem.external} (${mem.arrayBuffers})`,
        'native other MiB': (rss.at(-1) ?? Number.NaN) - mem.heapTotal - mem.external,
        'result/query cache MiB': `${mem.resultCache}/${mem.queryCache}`,
        'store cache MiB': mem.storeCache,
        'run done/total': `${s.done}/${s.total} (${s.state})`,
      });
      if (SNAPSHOT_AT.has(m) && gw.child.pid) {
        const file = await heapSnapshot(gw.child.pid, url, `minute-${m}`);
        console.log(`  heap snapshot after minute ${m}: ${file}`);
      }
      console.log(
        `  minute ${m}/${MINUTES}: ${f.rps.toFixed(0)} req/s, p99 ${f.p99.toFixed(0)} ms, ${f.errors} errors, RSS ${rss.at(-1)} MiB, run ${s.done}/${s.total}, ETA ${MINUTES - m} min`,
      );
    }
    console.log(
      `\n## Soak: ${MINUTES} min, ${o.connections} clients, 60 % search / 30 % thumbnail / 10 % asset view\n`,
    );
    printTable(rows);
    const base = rss[WARMUP - 1] ?? rss[0]!;
    const growth = (Math.max(...rss.slice(WARMUP)) - base) / base;
    console.log(
      `\nErrors after warm-up: ${errors} (target 0) → ${errors === 0 ? 'MET' : 'NOT MET'}\n` +
        `Gateway RSS: ${base} MiB after warm-up, at most ${Math.max(...rss.slice(WARMUP))} MiB later: ` +
        `${(growth * 100).toFixed(1)} % (target ≤ 10 %) → ${growth <= 0.1 ? 'MET' : 'NOT MET'}`,
    );
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
    await world.dispose();
  }
}

async function dimOf(addr: string): Promise<number> {
  const c = new EmbedderClient({ address: addr });
  try {
    return (await c.info()).embeddingDim;
  } finally {
    c.close();
  }
}

await main();
