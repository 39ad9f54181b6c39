// Gateway benchmark (a script, not a test): the gateway process, both embedder processes and the
// embedded vector store on loopback, load from a second process (autocannon, bench/gateway-load.ts).
//   npx tsx bench/gateway.bench.ts [--quick] [--points 100000] [--duration 40] [--models models/bench] [--json out.json]
//   npx tsx bench/gateway.bench.ts --seed-only 512   (fill the store ahead of a full run)
//   npx tsx bench/gateway.bench.ts --reads [--points 10000] [--fill bulk,ingest] [--duration 10] [--connections 32]
//     every read endpoint with /health and the store called directly in the same run (bench/gateway-reads.ts);
//     the demo ('colour') CLIP model, 100 real JPEGs for the thumbnails, rate limits off; --seed-reads only
//     seeds (kept in tmp/ and reused by later runs).
// Full run: full-size random-weight models from `npx nx run tools:make-bench-models` (models/bench/clip,
// models/bench/siglip) and 100,000 points. --quick: the tiny test models, 5,000 points, short runs.
// Measures: (1) the CLIP text tower's own batch-1 throughput over gRPC (sequential EmbedTexts of one
// new text) and the same at the load's concurrency; (2) uncached text search through the gateway
// at 10 and 50 connections; (3) the cached-query path (same text: embedding from the LRU, store
// search still runs); (4) the rollout router + coverage gate per decision, in-process.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { createLogger } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import { createVectorStore, LanceVectorStore } from '@image-search/vector-store';
import { CoverageMonitor, DEFAULT_FLAGS, RolloutRouter } from '@image-search/rollout-router';
import {
  freePort,
  REPO_ROOT,
  startTsProcess,
  testRedis,
  deleteKeys,
  tinyModelDir,
  waitFor,
  type TestProcess,
} from '@image-search/testing';
import { machine, median, percentile, printTable, startServed, type Served } from './embedders-support.js';
import { runReadsBench } from './gateway-reads.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    points: { type: 'string' },
    duration: { type: 'string' },
    models: { type: 'string', default: 'models/bench' },
    'data-dir': { type: 'string' },
    json: { type: 'string' },
    threads: { type: 'string' },
    'seed-only': { type: 'string' },
    'seed-reads': { type: 'boolean', default: false },
    reads: { type: 'boolean', default: false },
    fill: { type: 'string', default: 'bulk,ingest' },
    connections: { type: 'string', default: '32' },
    profile: { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = args.quick ?? false;
const POINTS = Number(args.points ?? (quick ? 5_000 : 100_000));
const DURATION = Number(args.duration ?? (quick ? 4 : 40));
/** The repeated-query runs are fast and steady: a shorter run is enough. */
const CACHED_DURATION = Math.min(DURATION, quick ? 4 : 10);
const THREADS = Number(args.threads ?? 0);
const dataDir = resolve(args['data-dir'] ?? join(REPO_ROOT, 'tmp', `bench-gateway-${quick ? 'quick' : 'full'}`));
const logger = createLogger('bench', 'warn');
const QUEUE_PREFIX = `bench-gw-${randomBytes(3).toString('hex')}`;

async function modelDir(family: 'clip' | 'siglip'): Promise<{ dir: string; fullSize: boolean }> {
  const full = resolve(REPO_ROOT, args.models ?? 'models/bench', family);
  if (!quick && existsSync(join(full, 'onnx'))) return { dir: full, fullSize: true };
  if (!quick) {
    console.error(
      `full-size ${family} model not found at ${full}: run \`npx nx run tools:make-bench-models\` first, or use --quick`,
    );
    process.exit(2);
  }
  return { dir: await tinyModelDir(family, 'random'), fullSize: false };
}

function unitVector(dim: number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    // Box-Muller would be truer; uniform in [-1,1] is enough for index/search cost.
    v[i] = Math.random() * 2 - 1;
    n += v[i]! * v[i]!;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i]! /= n;
  return v;
}

async function seedStore(collection: string, dim: number): Promise<number> {
  mkdirSync(dataDir, { recursive: true });
  const store = await createVectorStore({ dataDir, logger });
  try {
    await store.ensureCollection(collectionSchema('clip', { name: collection, vectorSize: dim }));
    const have = await store.count(collection);
    if (have >= POINTS) return have;
    const t0 = performance.now();
    const batch = 5_000;
    for (let i = have; i < POINTS; i += batch) {
      const points = [];
      for (let j = i; j < Math.min(POINTS, i + batch); j++) {
        const path = `/bench/photos/cat-${j % 50}/img-${j}.jpg`;
        const hash = createHash('sha256').update(path).digest('hex');
        points.push({
          assetId: hash.slice(0, 32),
          vector: unitVector(dim),
          payload: {
            path,
            path_hash: hash,
            category: `cat-${j % 50}`,
            width: 1024,
            height: 768,
            format: 'jpeg',
            file_size: 200_000 + j,
            file_mtime_ms: 1_700_000_000_000 + j,
            date_taken: new Date(1_600_000_000_000 + j * 60_000).toISOString(),
            created_at: new Date().toISOString(),
          },
        });
      }
      await store.upsert(collection, points);
      const done = Math.min(POINTS, i + batch);
      const rate = (done - have) / ((performance.now() - t0) / 1000);
      process.stderr.write(
        `\r  seeding ${collection}: ${done}/${POINTS} (${rate.toFixed(0)}/s, ETA ${((POINTS - done) / rate).toFixed(0)} s)   `,
      );
    }
    process.stderr.write('\n  building the index… ');
    const t1 = performance.now();
    if (store instanceof LanceVectorStore) await store.optimize(collection, { force: true });
    process.stderr.write(`${((performance.now() - t1) / 1000).toFixed(1)} s\n`);
    return await store.count(collection);
  } finally {
    await store.close();
  }
}

function runLoad(
  url: string,
  connections: number,
  mode: 'uncached' | 'cached',
  seed: string,
  durationS = DURATION,
): Promise<{ rps: number; p50: number; p99: number; mean: number; requests: number; non2xx: number; errors: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [join(REPO_ROOT, 'bench/gateway-load.ts'), JSON.stringify({ url, connections, durationS, mode, seed })],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited ${code}`));
      else resolvePromise(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

/** The CLIP text tower over gRPC, one new text per call, `concurrency` calls in flight. */
async function towerThroughput(
  served: Served,
  concurrency: number,
  seconds: number,
): Promise<{ rps: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const r = await served.client.embedTexts([`tower probe ${concurrency} ${n++} ${Math.random()}`]);
      if (!r[0]?.ok) throw new Error('embed failed');
      lat.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { rps: lat.length / ((performance.now() - t0) / 1000), p50: median(lat), p99: percentile(lat, 99) };
}

function routerMicrobench(): { nsPerDecision: number; nsPerDecisionGated: number; nsBaseline: number } {
  const snap = {
    fromModel: 'clip-x',
    toModel: 'siglip-y',
    fromCollection: 'a',
    toCollection: 'b',
    fromExists: true,
    toExists: true,
    fromPoints: 100_000,
    toPoints: 100_000,
    catalogueAssets: undefined,
    baseline: 'from' as const,
    coverage: 1,
    refreshedAt: new Date().toISOString(),
    lastError: undefined,
  };
  const targets = {
    from: { model: 'clip-x', family: 'clip', collection: 'a', embedder: 'x' },
    to: { model: 'siglip-y', family: 'siglip', collection: 'b', embedder: 'y' },
  } as const;
  const open = new RolloutRouter({
    flags: () => ({ ...DEFAULT_FLAGS, percentage: 50 }),
    coverage: () => snap,
    available: () => true,
    pair: () => targets,
  });
  const gated = new RolloutRouter({
    flags: () => ({ ...DEFAULT_FLAGS, useSiglip: true }),
    coverage: () => ({ ...snap, coverage: 0.5 }),
    available: () => true,
    pair: () => targets,
  });
  const ids = Array.from({ length: 1024 }, (_, i) =>
    i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? i * 7919 : String(BigInt(i) * 10n ** 20n),
  );
  const run = (fn: (i: number) => unknown, iters: number) => {
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) sink += fn(i) ? 1 : 0;
    const ns = Number(process.hrtime.bigint() - t0) / iters;
    if (sink < 0) console.log(sink);
    return ns;
  };
  const iters = quick ? 200_000 : 1_000_000;
  run((i) => open.decide({ userId: ids[i & 1023] }), 50_000); // warm-up
  const samples = { open: [] as number[], gated: [] as number[], base: [] as number[] };
  for (let k = 0; k < 5; k++) {
    samples.open.push(run((i) => open.decide({ userId: ids[i & 1023] }), iters));
    samples.gated.push(run((i) => gated.decide({ userId: ids[i & 1023] }), iters));
    samples.base.push(run((i) => ids[i & 1023], iters));
  }
  return {
    nsPerDecision: median(samples.open),
    nsPerDecisionGated: median(samples.gated),
    nsBaseline: median(samples.base),
  };
}

/** The embedder's host:port (startServed keeps it in its client's options). */
function addressOf(s: Served): string {
  return (s.client as unknown as { o: { address: string } }).o.address;
}

/** --reads: the read endpoints over each requested fill, the demo CLIP model serving the text queries. */
async function readsMain(): Promise<void> {
  const points = Number(args.points ?? 10_000);
  const durationS = Number(args.duration ?? 10);
  console.log(`# Gateway read benchmark — ${new Date().toISOString()}`);
  for (const line of machine(THREADS || 0)) console.log(line);
  const clip = await startServed('clip', { MODEL_DIR: await tinyModelDir('clip', 'colour') });
  const all: Record<string, unknown> = {};
  try {
    const dim = (await clip.client.info()).embeddingDim;
    console.log(`Model: the demo CLIP ('colour', ${dim}-d); ${points} points; ${durationS} s per endpoint`);
    for (const fill of (args.fill ?? 'bulk').split(',') as ('bulk' | 'ingest')[]) {
      all[`${fill}-${points}`] = await runReadsBench({
        points,
        fill,
        durationS,
        connections: Number(args.connections ?? 32),
        dataDir: `${dataDir}-reads-${fill}-${points}`,
        clipAddress: clip.address,
        dim,
        queuePrefix: QUEUE_PREFIX,
        logger,
        realFiles: Math.min(100, points),
        profileDir: args.profile ? resolve(args.profile) : undefined,
        only: args.only?.split(','),
        embedderPid: clip.proc.child.pid,
        seedOnly: args['seed-reads'],
      });
    }
  } finally {
    await clip.stop();
  }
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify({ date: new Date().toISOString(), machine: machine(THREADS), all }, null, 2),
    );
}

async function main(): Promise<void> {
  if (args.reads) return readsMain();
  if (args['seed-only']) {
    // Prepares the store ahead of a run (the dimension of the CLIP model, e.g. 512), without embedders.
    console.log(`seeded: ${await seedStore('bench_clip', Number(args['seed-only']))} points in ${dataDir}`);
    return;
  }
  const [clipModel, siglipModel] = [await modelDir('clip'), await modelDir('siglip')];
  console.log(
    `# Gateway benchmark${quick ? ' (--quick: tiny models, not the real figures)' : ''} — ${new Date().toISOString()}`,
  );
  for (const line of machine(THREADS || 0)) console.log(line);
  console.log(
    `Models: clip ${clipModel.dir}${clipModel.fullSize ? ' (full size)' : ''}; siglip ${siglipModel.dir}; points: ${POINTS}; data dir ${dataDir}; ${DURATION} s per load run\n`,
  );

  const procs: TestProcess[] = [];
  const served: Served[] = [];
  try {
    const threadsEnv: Record<string, string> = THREADS ? { INTRA_OP_THREADS: String(THREADS) } : {};
    const clip = await startServed('clip', { MODEL_DIR: clipModel.dir, ...threadsEnv });
    served.push(clip);
    const siglip = await startServed('siglip', { MODEL_DIR: siglipModel.dir, ...threadsEnv });
    served.push(siglip);
    const dim = (await clip.client.info()).embeddingDim;
    const collection = 'bench_clip';
    const points = await seedStore(collection, dim);
    console.log(`Store: ${points} points of ${dim}-d in '${collection}' (embedded LanceDB)\n`);

    const startGateway = async (extra: Record<string, string>): Promise<{ url: string; proc: TestProcess }> => {
      const port = await freePort();
      const gw = startTsProcess('apps/gateway/src/main.ts', {
        GATEWAY_PORT: String(port),
        CLIP_EMBEDDER_URL: addressOf(clip),
        SIGLIP_EMBEDDER_URL: addressOf(siglip),
        DATA_DIR: dataDir,
        CLIP_COLLECTION: collection,
        SIGLIP_COLLECTION: 'bench_siglip',
        SIGLIP_ROLLOUT_PERCENTAGE: '0',
        RATE_LIMIT_SEARCH_PER_MIN: '0',
        QUEUE_PREFIX,
        INGEST_WORKER: 'false',
        LOG_LEVEL: 'warn',
        // Measure throughput, not load shedding: at 50 clients a CPU-only tower queues for many seconds.
        EMBEDDER_DEADLINE_MS: '300000',
        ...extra,
      });
      procs.push(gw);
      const gwUrl = `http://127.0.0.1:${port}`;
      await waitFor('gateway ready', async () => (await fetch(`${gwUrl}/ready`)).status === 200, 120_000, 250);
      return { url: gwUrl, proc: gw };
    };
    const { url, proc: gwProc } = await startGateway({});

    const rows: Record<string, string | number>[] = [];
    const results: Record<string, unknown> = {};
    const tower1 = await towerThroughput(clip, 1, Math.min(DURATION, 10));
    results['tower_batch1'] = tower1;
    rows.push({
      path: 'CLIP text tower, gRPC, batch 1 (sequential)',
      clients: 1,
      'req/s': tower1.rps,
      'p50 ms': tower1.p50,
      'p99 ms': tower1.p99,
      'vs tower b1': 1,
    });
    for (const c of [10, 50]) {
      const t = await towerThroughput(clip, c, Math.min(DURATION, 10));
      results[`tower_c${c}`] = t;
      rows.push({
        path: 'CLIP text tower, gRPC, 1 text per call',
        clients: c,
        'req/s': t.rps,
        'p50 ms': t.p50,
        'p99 ms': t.p99,
        'vs tower b1': t.rps / tower1.rps,
      });
    }
    // Requests autocannon abandons at the end of a run are cancelled by the gateway, but wait until the
    // embedder's queue is empty so that no run measures the previous one's backlog.
    const drain = async () => {
      await waitFor(
        'embedder queue drained',
        async () => (await clip.metric('embedder_queue_depth', { tower: 'text' })) === 0,
        300_000,
        250,
      );
    };
    // Warm the gateway (JIT, connections, index cache) before measuring.
    await runLoad(url, 2, 'uncached', 'warm', quick ? 2 : 10);
    await drain();
    for (const c of [1, 10, 50]) {
      const r = await runLoad(url, c, 'uncached', `u${c}-`);
      results[`gateway_uncached_c${c}`] = r;
      rows.push({
        path: 'gateway, uncached text search',
        clients: c,
        'req/s': r.rps,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'vs tower b1': r.rps / tower1.rps,
        errors: r.non2xx + r.errors,
      });
      await drain();
    }
    await fetch(`${url}/api/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'a red car parked by the beach at sunset', limit: 20 }),
    });
    for (const c of [10, 50]) {
      const r = await runLoad(url, c, 'cached', `c${c}`, CACHED_DURATION);
      results[`gateway_cached_c${c}`] = r;
      rows.push({
        path: 'gateway, repeated query (result cache)',
        clients: c,
        'req/s': r.rps,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'vs tower b1': r.rps / tower1.rps,
        errors: r.non2xx + r.errors,
      });
    }
    // The same repeated query with the result cache off: the embedding comes from the query cache,
    // the vector search over all points runs for every request.
    await gwProc.stop('SIGTERM', 20_000);
    const noResults = await startGateway({ RESULT_CACHE_SIZE: '0' });
    await fetch(`${noResults.url}/api/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'a red car parked by the beach at sunset', limit: 20 }),
    });
    for (const c of [10, 50]) {
      const r = await runLoad(noResults.url, c, 'cached', `e${c}`, CACHED_DURATION);
      results[`gateway_embedcache_c${c}`] = r;
      rows.push({
        path: 'gateway, repeated query, result cache off (store search runs)',
        clients: c,
        'req/s': r.rps,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'vs tower b1': r.rps / tower1.rps,
        errors: r.non2xx + r.errors,
      });
    }
    printTable(rows);

    const m = routerMicrobench();
    results['router'] = m;
    const searchP50Ms = (results['gateway_cached_c10'] as { p50: number }).p50;
    console.log(
      `\nRouter + coverage gate (in-process, median of 5 runs): ${m.nsPerDecision.toFixed(0)} ns per decision (percentage split), ${m.nsPerDecisionGated.toFixed(0)} ns (forced, gated to CLIP), loop baseline ${m.nsBaseline.toFixed(1)} ns`,
    );
    const u1 = results['gateway_uncached_c1'] as { p50: number };
    console.log(
      `= ${((m.nsPerDecisionGated / 1e6 / u1.p50) * 100).toFixed(5)} % of the uncached search p50 (${u1.p50} ms, 1 client)${searchP50Ms > 0 ? ` and ${((m.nsPerDecisionGated / 1e6 / searchP50Ms) * 100).toFixed(4)} % of the repeated-query p50 (${searchP50Ms} ms)` : ''}; the gate reads cached counts (refreshed every 5 s in the background), no I/O per request.`,
    );

    const metrics = await (await fetch(`${noResults.url}/metrics`)).text();
    const metric = (name: string, result: string) =>
      /\d+/.exec(new RegExp(`${name}\\{model="clip",result="${result}"\\} (\\d+)`).exec(metrics)?.[1] ?? '0')?.[0];
    console.log(
      `Caches (/metrics of the result-cache-off gateway): results ${metric('gateway_result_cache_total', 'hit')} hits / ${metric('gateway_result_cache_total', 'miss')} misses; query embeddings ${metric('gateway_query_cache_total', 'hit')} hits / ${metric('gateway_query_cache_total', 'miss')} misses`,
    );
    const u10 = results['gateway_uncached_c10'] as { rps: number };
    const u50 = results['gateway_uncached_c50'] as { rps: number };
    const u1r = results['gateway_uncached_c1'] as { rps: number };
    const cachedBest = Math.max(
      (results['gateway_cached_c10'] as { rps: number }).rps,
      (results['gateway_cached_c50'] as { rps: number }).rps,
    );
    console.log(
      `\nTargets: uncached ≥ 0.8 × tower batch-1: ${(u1r.rps / tower1.rps).toFixed(2)} (1 client), ${(u10.rps / tower1.rps).toFixed(2)} (10 clients), ${(u50.rps / tower1.rps).toFixed(2)} (50 clients) → ${Math.max(u10.rps, u50.rps) / tower1.rps >= 0.8 ? 'MET' : 'NOT MET'}; cached ≥ 2,000 req/s: ${cachedBest.toFixed(0)} → ${cachedBest >= 2000 ? 'MET' : 'NOT MET'}`,
    );
    if (args.json)
      writeFileSync(
        args.json,
        JSON.stringify({ date: new Date().toISOString(), quick, points, machine: machine(THREADS), results }, null, 2),
      );
  } finally {
    for (const p of procs) await p.stop('SIGTERM', 20_000);
    for (const s of served) await s.stop();
    const redis = testRedis();
    await deleteKeys(redis, QUEUE_PREFIX).catch(() => 0);
    redis.disconnect();
  }
}

await main();
