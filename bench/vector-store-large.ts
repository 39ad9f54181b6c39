// Large mode of bench/vector-store.bench.ts (--points above 200,000, e.g. 1,000,000 x 768): the data is generated in
// batches while it is written, so the benchmark never holds the ~3 GiB of vectors; the ground truth (exact top 10 by
// cosine) is computed in-process during generation; every long phase prints done/total, rate and ETA (or elapsed).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import { DEFAULT_EF, DEFAULT_POLICY, LanceVectorStore, type UpsertPoint } from '@image-search/vector-store';

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

/** Running exact top-k per query (ids and cosine), kept sorted descending; k is small, so insertion is cheap. */
class TopK {
  readonly ids: number[] = [];
  readonly scores: number[] = [];
  constructor(private readonly k: number) {}
  offer(id: number, score: number): void {
    if (this.ids.length === this.k && score <= this.scores[this.k - 1]!) return;
    let i = this.ids.length === this.k ? this.k - 1 : this.ids.length;
    if (this.ids.length === this.k) {
      this.ids.pop();
      this.scores.pop();
    }
    while (i > 0 && this.scores[i - 1]! < score) i--;
    this.ids.splice(i, 0, id);
    this.scores.splice(i, 0, score);
  }
}

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
export async function openBenchStore(dataDir: string, dim: number) {
  const store = await LanceVectorStore.open({
    dataDir,
    logger: createLogger('vector-store-bench', 'warn', process.stderr),
    policy: {
      indexThreshold: Number.MAX_SAFE_INTEGER,
      compactFragments: Number.MAX_SAFE_INTEGER,
      checkIntervalMs: Number.MAX_SAFE_INTEGER,
      settleAfterMs: 0,
    },
  });
  const schema = collectionSchema('siglip', { name: 'bench_siglip', vectorSize: dim });
  await store.ensureCollection(schema);
  return { store, schema };
}

/** The 1M run: bulk load, index build, recall/latency over ef, filtered search, one refresh, RSS and folder size. */
export async function runLarge(c: LargeContext): Promise<void> {
  const { n: N, queries: Q, dim: DIM, k: K } = c;
  const dataDir = c.dataDir ?? mkdtempSync(join(tmpdir(), 'vs-bench-1m-'));
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 500);
  const logger = createLogger('vector-store-bench', 'warn', process.stderr);
  const { store, schema } = await openBenchStore(dataDir, DIM);
  console.log(`Data folder: ${dataDir}`);

  // 1. Generate and write in batches of 1,000; the exact top 10 of every query is kept as the points pass by.
  const queries = Array.from({ length: Q }, () => c.sample().v);
  const top = queries.map(() => new TopK(K));
  const BATCH = 1_000;
  let writeMs = 0;
  let t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const batch: UpsertPoint[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) {
      const { v, cluster } = c.sample();
      for (let q = 0; q < Q; q++) {
        const qv = queries[q]!;
        let dot = 0;
        for (let d = 0; d < DIM; d++) dot += qv[d]! * v[d]!;
        top[q]!.offer(j, dot);
      }
      batch.push({
        assetId: assetId(j),
        vector: v,
        payload: {
          path: `/photos/c${cluster}/img_${j}.jpg`,
          path_hash: `h${j}`,
          category: `c${cluster % 20}`,
          width: 4000,
          height: 3000,
          date_taken: new Date(Date.UTC(2020, 0, 1) + j * 60_000).toISOString(),
        },
      });
    }
    const s = performance.now();
    await store.upsert(schema.name, batch);
    writeMs += performance.now() - s;
    c.progress('generate + bulk upsert', Math.min(N, i + BATCH), N, t0);
  }
  const loadS = (performance.now() - t0) / 1000;
  const upsertRate = N / (writeMs / 1000);
  const truth = top.map((t) => new Set(t.ids.map(assetId)));
  const sizeLoaded = c.folderBytes(dataDir);
  const rssLoaded = process.memoryUsage().rss;
  console.log(`Loaded in ${fmt(loadS, 0)} s (load average ${load()})`);

  // 2. Exact search (flat scan) on a few queries: the no-index baseline at this size.
  const exactLat: number[] = [];
  for (let q = 0; q < Math.min(10, Q); q++) {
    const s = performance.now();
    await store.search(schema.name, { vector: queries[q]!, limit: K, exact: true });
    exactLat.push(performance.now() - s);
  }
  exactLat.sort((a, b) => a - b);

  // 3. Index build: compaction + IVF_HNSW_SQ + B-trees, as the maintenance policy runs it.
  t0 = performance.now();
  const built = await ticking('index build', store.optimize(schema.name, { force: true }));
  const buildS = (performance.now() - t0) / 1000;
  const sizeBuilt = c.folderBytes(dataDir);
  console.log(`Index built in ${fmt(buildS, 0)} s (${built.action}; load average ${load()})`);

  // 4. Recall / latency over ef.
  const curve: { ef: number; recall: number; p50: number; p95: number; p99: number; qps: number }[] = [];
  for (const ef of c.efs) {
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
    const row = {
      ef,
      recall: hits / (Q * K),
      p50: c.pct(lat, 0.5),
      p95: c.pct(lat, 0.95),
      p99: c.pct(lat, 0.99),
      qps: Q / ((performance.now() - tc) / 1000),
    };
    curve.push(row);
    process.stderr.write(`  ef=${ef}: recall ${fmt(row.recall, 3)}, p50 ${fmt(row.p50)} ms, p95 ${fmt(row.p95)} ms\n`);
  }
  const rssSearch = process.memoryUsage().rss;

  // 5. Filtered search (category = 'c3', ~5% of points), against the engine's exact filtered search.
  const fq = Math.min(50, Q);
  const { fLat, fHits, fTotal } = await filteredSearch(store, schema.name, queries.slice(0, fq), K);

  // 6. +1% arrivals after the build (batches of 100): searchable at once, then one refresh as the policy runs it.
  const extra = Math.round(N * 0.01);
  t0 = performance.now();
  for (let i = 0; i < extra; i += 100) {
    const add = Array.from({ length: Math.min(100, extra - i) }, (_, j) => ({
      assetId: `x${i + j}`,
      vector: c.sample().v,
      payload: { category: 'late' },
    }));
    await store.upsert(schema.name, add);
  }
  const smallRate = extra / ((performance.now() - t0) / 1000);
  const pending: number[] = [];
  for (let q = 0; q < Math.min(100, Q); q++) {
    const s = performance.now();
    await store.search(schema.name, { vector: queries[q]!, limit: K });
    pending.push(performance.now() - s);
  }
  pending.sort((a, b) => a - b);
  t0 = performance.now();
  const refreshed = await ticking('index refresh', store.optimize(schema.name, { force: true }));
  const refreshS = (performance.now() - t0) / 1000;
  const after: number[] = [];
  for (let q = 0; q < Math.min(100, Q); q++) {
    const s = performance.now();
    await store.search(schema.name, { vector: queries[q]!, limit: K });
    after.push(performance.now() - s);
  }
  after.sort((a, b) => a - b);
  const live = await store.storageStats(schema.name);
  await store.close();
  const cleaner = await LanceVectorStore.open({ dataDir, logger, policy: { versionRetentionMs: 0 } });
  await cleaner.optimize(schema.name, { force: true });
  await cleaner.close();
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
    `| +${extra} points into the indexed table (batches of 100) | ${fmt(smallRate, 0)} points/s; search with them unindexed p50 ${fmt(c.pct(pending, 0.5))} ms | |`,
  );
  console.log(
    `| index refresh after +${extra} (${refreshed.action}) | ${fmt(refreshS, 1)} s; then p50 ${fmt(c.pct(after, 0.5))} ms, ${live.indexSegments} index segments | |`,
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
  console.log(
    `\nPolicy: index built at ${DEFAULT_POLICY.indexThreshold} rows; rebuilt past ${DEFAULT_POLICY.maxIndexSegments} segments. Load average at end: ${load()}`,
  );
  if (c.keep) console.log(`Data folder kept: ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}
