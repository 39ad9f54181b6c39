// Large mode of bench/vector-store.bench.ts (--points above 200,000, e.g. 1,000,000 x 768): a worker thread generates
// the data in batches while it is written, so the benchmark never holds the ~3 GiB of vectors, and keeps the ground
// truth (exact top 10 by cosine) as the points pass by, so the main thread only writes; every long phase prints
// done/total, rate and ETA (or elapsed).
import { mkdtempSync, rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import {
  DEFAULT_EF,
  DEFAULT_NPROBES,
  DEFAULT_POLICY,
  LanceVectorStore,
  type MaintenancePolicy,
  type UpsertPoint,
} from '@image-search/vector-store';
import type { GenMessage, GenOptions } from './vector-store-gen.worker.js';

/** What the large run needs from the benchmark script (its seeded generator and its formatting helpers). */
/**
 * Filtered search (category = 'c3', ~5% of points) at the default ef against the engine's exact
 * filtered search: sorted latencies, hits and the exact result count, for recall@k.
 */
export async function filteredSearch(
  store: LanceVectorStore,
  name: string,
  queries: Float32Array[],
  k: number,
): Promise<{ fLat: number[]; fHits: number; fTotal: number }> {
  const filter = { must: [{ key: 'category', match: { value: 'c3' } }] };
  const fLat: number[] = [];
  let fHits = 0;
  let fTotal = 0;
  for (const vector of queries) {
    const t = new Set((await store.search(name, { vector, limit: k, filter, exact: true })).map((h) => h.assetId));
    const s = performance.now();
    const res = await store.search(name, { vector, limit: k, filter });
    fLat.push(performance.now() - s);
    fHits += res.filter((h) => t.has(h.assetId)).length;
    fTotal += t.size;
  }
  fLat.sort((a, b) => a - b);
  return { fLat, fHits, fTotal };
}

export interface LargeContext {
  n: number;
  queries: number;
  dim: number;
  k: number;
  efs: number[];
  keep: boolean;
  dataDir?: string | undefined;
  /** Index settings under test (the store's defaults when unset). */
  hnsw?: { m: number; efConstruct: number } | undefined;
  policy?: Partial<MaintenancePolicy> | undefined;
  /** IVF partitions probed, swept at the default ef (the store's default first). */
  nprobes: number[];
  /** Skip the +1% arrivals and the refresh (tuning runs). */
  noRefresh: boolean;
  sample: () => { v: Float32Array; cluster: number };
  progress: (label: string, done: number, total: number, t0: number) => void;
  folderBytes: (dir: string) => number;
  pct: (sorted: number[], p: number) => number;
}

const fmt = (x: number, d = 2) => x.toFixed(d);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Prints elapsed time every 10 s while a step without its own progress (the index build) runs. */
async function ticking<T>(label: string, work: Promise<T>): Promise<T> {
  const t0 = performance.now();
  const timer = setInterval(
    () =>
      process.stderr.write(
        `\r  ${label}: ${fmt((performance.now() - t0) / 1000, 0)} s elapsed (load ${load()}, RSS ${mib(process.memoryUsage().rss)})   `,
      ),
    10_000,
  );
  try {
    return await work;
  } finally {
    clearInterval(timer);
    process.stderr.write('\n');
  }
}

const assetId = (i: number) => i.toString(16).padStart(32, '0');

/**
 * The benchmarks' store: background maintenance off (no build, compaction or settling pass of its own), so every
 * build and refresh is explicit and timed, and the load rate and the index build are measured apart.
 */
export async function openBenchStore(
  dataDir: string,
  dim: number,
  tune: {
    hnsw?: { m: number; efConstruct: number } | undefined;
    policy?: Partial<MaintenancePolicy> | undefined;
    nprobes?: number;
  } = {},
) {
  const store = await LanceVectorStore.open({
    dataDir,
    logger: createLogger('vector-store-bench', 'warn', process.stderr),
    ...(tune.nprobes !== undefined ? { defaultNprobes: tune.nprobes } : {}),
    policy: {
      ...tune.policy,
      indexThreshold: Number.MAX_SAFE_INTEGER,
      compactFragments: Number.MAX_SAFE_INTEGER,
      checkIntervalMs: Number.MAX_SAFE_INTEGER,
      settleAfterMs: 0,
    },
  });
  const base = collectionSchema('siglip', { name: 'bench_siglip', vectorSize: dim });
  const schema = tune.hnsw ? { ...base, hnsw: tune.hnsw } : base;
  await store.ensureCollection(schema);
  return { store, schema };
}

/** Payload of a generated point, as ingest writes it. */
function payload(j: number, cluster: number): UpsertPoint['payload'] {
  return {
    path: `/photos/c${cluster}/img_${j}.jpg`,
    path_hash: `h${j}`,
    category: `c${cluster % 20}`,
    width: 4000,
    height: 3000,
    date_taken: new Date(Date.UTC(2020, 0, 1) + j * 60_000).toISOString(),
  };
}

/**
 * Writes n points generated by the worker (bench/vector-store-gen.worker.ts), keeping a few batches requested ahead
 * so the store never waits for generation; returns the queries, the exact top k (point numbers) and the timings.
 */
async function bulkLoad(
  store: LanceVectorStore,
  name: string,
  o: GenOptions,
  progress: LargeContext['progress'],
): Promise<{ queries: Float32Array[]; truth: number[][]; truthMs: number; writeMs: number; loadS: number }> {
  // tsx's loader is not inherited by workers (Node 20): the worker registers it, then loads the TypeScript module.
  const file = new URL('./vector-store-gen.worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(file)});`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: o });
  const inbox: GenMessage[] = [];
  let wake: (() => void) | undefined;
  let failed: unknown;
  worker.on('message', (m: GenMessage) => {
    inbox.push(m);
    wake?.();
  });
  worker.on('error', (err) => {
    failed = err;
    wake?.();
  });
  const receive = async <T extends GenMessage['type']>(type: T): Promise<Extract<GenMessage, { type: T }>> => {
    while (inbox.length === 0) {
      if (failed) throw failed;
      await new Promise<void>((r) => (wake = r));
    }
    const m = inbox.shift()!;
    if (m.type !== type) throw new Error(`generator worker sent ${m.type}, expected ${type}`);
    return m as Extract<GenMessage, { type: T }>;
  };
  const q = await receive('queries');
  const queries = Array.from({ length: o.queries }, (_, i) => q.flat.subarray(i * o.dim, (i + 1) * o.dim));
  const batches = Math.ceil(o.n / o.batch);
  const AHEAD = 3;
  for (let i = 0; i < Math.min(AHEAD, batches); i++) worker.postMessage('next');
  let writeMs = 0;
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const { start, flat, clusters } = await receive('batch');
    if (b + AHEAD < batches) worker.postMessage('next');
    const points: UpsertPoint[] = Array.from(clusters, (cluster, j) => ({
      assetId: assetId(start + j),
      vector: flat.subarray(j * o.dim, (j + 1) * o.dim),
      payload: payload(start + j, cluster),
    }));
    const s = performance.now();
    await store.upsert(name, points);
    writeMs += performance.now() - s;
    progress('bulk upsert', start + clusters.length, o.n, t0);
  }
  const loadS = (performance.now() - t0) / 1000;
  worker.postMessage('truth');
  const t = await receive('truth');
  await worker.terminate();
  return { queries, truth: t.ids, truthMs: t.truthMs, writeMs, loadS };
}

/**
 * +extra arrivals after the build in `rounds` rounds (batches of 100), each searchable at once and then folded in by
 * the refresh the policy runs: its time, the index segments and the p50 with the rows pending and after.
 */
async function arrivals(
  store: LanceVectorStore,
  name: string,
  extra: number,
  rounds: number,
  queries: Float32Array[],
  K: number,
  c: LargeContext,
) {
  const p50 = async () => {
    const lat: number[] = [];
    for (let q = 0; q < Math.min(100, queries.length); q++) {
      const s = performance.now();
      await store.search(name, { vector: queries[q]!, limit: K });
      lat.push(performance.now() - s);
    }
    return c.pct(
      lat.sort((a, b) => a - b),
      0.5,
    );
  };
  const out: {
    rows: number;
    rate: number;
    pendingP50: number;
    action: string;
    s: number;
    segments: number;
    p50: number;
  }[] = [];
  const per = Math.ceil(extra / rounds);
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    for (let i = 0; i < per; i += 100) {
      const add = Array.from({ length: Math.min(100, per - i) }, (_, j) => ({
        assetId: `x${r}_${i + j}`,
        vector: c.sample().v,
        payload: { category: 'late' },
      }));
      await store.upsert(name, add);
    }
    const rate = per / ((performance.now() - t0) / 1000);
    const pendingP50 = await p50();
    t0 = performance.now();
    const refreshed = await ticking(`index refresh ${r + 1}/${rounds}`, store.optimize(name, { force: true }));
    const s = (performance.now() - t0) / 1000;
    const st = await store.storageStats(name);
    const row = {
      rows: st.numRows,
      rate,
      pendingP50,
      action: refreshed.action,
      s,
      segments: st.indexSegments,
      p50: await p50(),
    };
    process.stderr.write(
      `  round ${r + 1}: ${row.action} ${fmt(s, 1)} s, ${row.segments} segments, p50 ${fmt(row.p50)} ms\n`,
    );
    out.push(row);
  }
  return out;
}

/** The 1M run: bulk load, index build, recall/latency over ef, filtered search, one refresh, RSS and folder size. */
export async function runLarge(c: LargeContext): Promise<void> {
  const { n: N, queries: Q, dim: DIM, k: K } = c;
  const dataDir = c.dataDir ?? mkdtempSync(join(tmpdir(), 'vs-bench-1m-'));
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 500);
  const logger = createLogger('vector-store-bench', 'warn', process.stderr);
  const tune = { hnsw: c.hnsw, policy: c.policy };
  let { store, schema } = await openBenchStore(dataDir, DIM, tune);
  const rowsPerPartition = c.policy?.rowsPerPartition ?? DEFAULT_POLICY.rowsPerPartition;
  const hnsw = schema.hnsw;
  console.log(
    `Data folder: ${dataDir}\nIndex: IVF_HNSW_SQ, ${Math.max(1, Math.ceil(N / rowsPerPartition))} partitions (one per ${rowsPerPartition} rows), m ${hnsw.m}, ef_construction ${hnsw.efConstruct}, sample rate ${c.policy?.indexSampleRate ?? DEFAULT_POLICY.indexSampleRate}; default nprobes ${DEFAULT_NPROBES}, ef ${DEFAULT_EF}`,
  );

  // 1. Bulk load in batches of 1,000: the worker generates (and keeps the exact top k) ahead, this thread only writes.
  const BATCH = 1_000;
  const loaded = await bulkLoad(store, schema.name, { n: N, dim: DIM, queries: Q, k: K, batch: BATCH }, c.progress);
  const { queries, writeMs, loadS } = loaded;
  const upsertRate = N / (writeMs / 1000);
  const truth = loaded.truth.map((ids) => new Set(ids.map(assetId)));
  const sizeLoaded = c.folderBytes(dataDir);
  const rssLoaded = process.memoryUsage().rss;
  console.log(
    `Loaded in ${fmt(loadS, 0)} s: ${fmt(N / loadS, 0)} points/s overall, ${fmt(upsertRate, 0)} points/s in the store's upserts; ground truth ${fmt(loaded.truthMs / 1000, 0)} s of the worker (load average ${load()})`,
  );

  // 2. Exact search (flat scan) on a few queries: the no-index baseline at this size.
  const exactLat: number[] = [];
  for (let q = 0; q < Math.min(10, Q); q++) {
    const s = performance.now();
    await store.search(schema.name, { vector: queries[q]!, limit: K, exact: true });
    exactLat.push(performance.now() - s);
  }
  exactLat.sort((a, b) => a - b);

  // 3. Index build: compaction + IVF_HNSW_SQ + B-trees, as the maintenance policy runs it.
  let t0 = performance.now();
  const built = await ticking('index build', store.optimize(schema.name, { force: true }));
  const buildS = (performance.now() - t0) / 1000;
  const sizeBuilt = c.folderBytes(dataDir);
  console.log(`Index built in ${fmt(buildS, 0)} s (${built.action}; load average ${load()})`);

  // 4. Recall / latency over ef (default nprobes), then over nprobes (default ef; the store reopened with each).
  const measure = async (ef: number) => {
    for (let w = 0; w < Math.min(20, Q); w++) await store.search(schema.name, { vector: queries[w]!, limit: K, ef });
    const lat: number[] = [];
    let hits = 0;
    const tc = performance.now();
    for (let q = 0; q < Q; q++) {
      const s = performance.now();
      const res = await store.search(schema.name, { vector: queries[q]!, limit: K, ef });
      lat.push(performance.now() - s);
      hits += res.filter((h) => truth[q]!.has(h.assetId)).length;
    }
    lat.sort((a, b) => a - b);
    const qps = Q / ((performance.now() - tc) / 1000);
    const row = { ef, recall: hits / (Q * K), p50: c.pct(lat, 0.5), p95: c.pct(lat, 0.95), p99: c.pct(lat, 0.99), qps };
    process.stderr.write(`  ef=${ef}: recall ${fmt(row.recall, 3)}, p50 ${fmt(row.p50)} ms, p95 ${fmt(row.p95)} ms\n`);
    return row;
  };
  const curve: Awaited<ReturnType<typeof measure>>[] = [];
  for (const ef of c.efs) curve.push(await measure(ef));
  const probes: (Awaited<ReturnType<typeof measure>> & { nprobes: number })[] = [];
  for (const nprobes of c.nprobes.filter((p) => p !== DEFAULT_NPROBES)) {
    await store.close();
    ({ store, schema } = await openBenchStore(dataDir, DIM, { ...tune, nprobes }));
    process.stderr.write(`  nprobes=${nprobes}:`);
    probes.push({ nprobes, ...(await measure(DEFAULT_EF)) });
  }
  if (probes.length > 0) {
    await store.close();
    ({ store, schema } = await openBenchStore(dataDir, DIM, tune));
  }
  const rssSearch = process.memoryUsage().rss;

  // 5. Filtered search (category = 'c3', ~5% of points), against the engine's exact filtered search.
  const fq = Math.min(50, Q);
  const { fLat, fHits, fTotal } = await filteredSearch(store, schema.name, queries.slice(0, fq), K);

  // 6. +1% arrivals after the build (batches of 100): searchable at once, then one refresh as the policy runs it.
  const extra = c.noRefresh ? 0 : Math.round(N * 0.006);
  const late = extra > 0 ? await arrivals(store, schema.name, extra, 3, queries, K, c) : [];
  await store.close();
  // Old versions are kept 6 h for running scrolls; the folder once they are gone (skipped in tuning runs).
  if (!c.noRefresh) {
    const cleaner = await LanceVectorStore.open({ dataDir, logger, policy: { versionRetentionMs: 0 } });
    await cleaner.optimize(schema.name, { force: true });
    await cleaner.close();
  }
  const sizeCleaned = c.folderBytes(dataDir);
  clearInterval(rssTimer);

  const def = curve.find((r) => r.ef === DEFAULT_EF) ?? curve.at(-1)!;
  console.log(`\n## Results (${N} x ${DIM}, ${Q} queries, top ${K})\n`);
  console.log(`| measure | value | target |\n|---|---|---|`);
  console.log(
    `| bulk upsert (batches of ${BATCH}, merge-insert on point id) | ${fmt(upsertRate, 0)} points/s in the store (${fmt(writeMs / 1000, 0)} s); ${fmt(N / loadS, 0)} points/s with generation and ground truth (${fmt(loadS, 0)} s) | |`,
  );
  console.log(
    `| index build (compaction + IVF_HNSW_SQ + B-trees, ${built.action}) | ${fmt(buildS, 1)} s | <= 600 s ${buildS <= 600 ? 'PASS' : 'FAIL'} |`,
  );
  console.log(
    `| indexed search, default ef ${def.ef} | recall@10 ${fmt(def.recall, 3)}, p50 ${fmt(def.p50)} ms, p95 ${fmt(def.p95)} ms | recall >= 0.95 ${def.recall >= 0.95 ? 'PASS' : 'FAIL'}, p50 <= 10 ms ${def.p50 <= 10 ? 'PASS' : 'FAIL'} |`,
  );
  console.log(`| exact search (flat scan), ${exactLat.length} queries | p50 ${fmt(c.pct(exactLat, 0.5), 0)} ms | |`);
  console.log(
    `| filtered search (category = 'c3', ~5%), default ef, ${fq} queries | recall@10 ${fmt(fHits / Math.max(1, fTotal), 3)}, p50 ${fmt(c.pct(fLat, 0.5))} ms, p95 ${fmt(c.pct(fLat, 0.95))} ms | |`,
  );
  console.log(
    `| RSS of the benchmark process (store in-process) | ${mib(rssLoaded)} after the load, ${mib(rssSearch)} while searching, peak ${mib(peakRss)} | |`,
  );
  console.log(
    `| data folder | ${mib(sizeLoaded)} after the load; ${mib(sizeBuilt)} after the build incl. old versions; ${mib(sizeCleaned)} cleaned (${fmt(sizeCleaned / (N + extra), 0)} B/point) | |`,
  );
  console.log(`\n### Recall@10 / latency over HNSW ef (${Q} queries, sequential)\n`);
  console.log(`| ef | recall@10 | p50 ms | p95 ms | p99 ms | QPS (1 client) |\n|---|---|---|---|---|---|`);
  for (const r of curve)
    console.log(`| ${r.ef} | ${fmt(r.recall, 3)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.qps, 0)} |`);
  if (probes.length > 0) {
    console.log(`\n### Over nprobes at ef ${DEFAULT_EF} (default nprobes ${DEFAULT_NPROBES} in the table above)\n`);
    console.log(`| nprobes | recall@10 | p50 ms | p95 ms | p99 ms | QPS (1 client) |\n|---|---|---|---|---|---|`);
    for (const r of probes)
      console.log(
        `| ${r.nprobes} | ${fmt(r.recall, 3)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.qps, 0)} |`,
      );
  }
  console.log(
    `\nPolicy: index built at ${DEFAULT_POLICY.indexThreshold} rows; refreshed at max(${DEFAULT_POLICY.reindexMinRows}, ${DEFAULT_POLICY.reindexFraction * 100}% of indexed) unindexed rows; rebuilt past ${DEFAULT_POLICY.maxIndexSegments} segments up to ${DEFAULT_POLICY.segmentRebuildMaxRows} rows, above once ${DEFAULT_POLICY.rebuildFraction * 100}% of the rows are new since the last build or past ${DEFAULT_POLICY.maxIndexSegmentsLarge} segments. Load average at end: ${load()}`,
  );
  if (late.length > 0) {
    console.log(
      `\n### Kept up to date: +${extra} points in ${late.length} rounds (batches of 100), each followed by the refresh\n`,
    );
    console.log(
      `| round | rows | upsert points/s | p50 with them pending ms | refresh | s | index segments | p50 after ms |\n|---|---|---|---|---|---|---|---|`,
    );
    late.forEach((r, i) =>
      console.log(
        `| ${i + 1} | ${r.rows} | ${fmt(r.rate, 0)} | ${fmt(r.pendingP50)} | ${r.action} | ${fmt(r.s, 1)} | ${r.segments} | ${fmt(r.p50)} |`,
      ),
    );
  }
  if (c.keep) console.log(`Data folder kept: ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}
