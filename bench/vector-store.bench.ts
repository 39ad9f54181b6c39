// Benchmark of the embedded vector engine (LanceDB IVF_HNSW_SQ through LanceVectorStore): bulk upsert rate,
// index build time, data folder size, and the recall@10 / latency curve over HNSW ef against exact search.
//   npx tsx bench/vector-store.bench.ts            full run: 100,000 x 768, 1,000 queries (~10 min on 2 vCPUs)
//   npx tsx bench/vector-store.bench.ts --quick    20,000 x 768, 200 queries (development)
//   npx tsx bench/vector-store.bench.ts --points 1000000   one machine, a million photos (~18 min on 2 vCPUs):
//     above 200,000 points (or with --large) a worker thread generates the data in batches while it is written
//     (never all in memory) and keeps the exact top 10 as the points pass by; the live-load round is skipped and
//     the kept-up-to-date rounds are 3 (bench/vector-store-large.ts).
// Options: --n N --queries Q --dim D --keep (leave the data folder) --usearch DIR (also measure usearch, an
// alternative embedded engine, installed outside the repo: cd DIR && npm i usearch@2.26.2).
// Not a test: it prints figures and the machine.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { createLogger } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import { DEFAULT_EF, DEFAULT_POLICY, LanceVectorStore, type UpsertPoint } from '@image-search/vector-store';
import { filteredSearch, openBenchStore, runLarge } from './vector-store-large.js';
import { CLUSTERS, LATENT, createGenerator } from './vector-store-data.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    n: { type: 'string' },
    points: { type: 'string' },
    queries: { type: 'string' },
    dim: { type: 'string' },
    keep: { type: 'boolean', default: false },
    large: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    usearch: { type: 'string' },
    // Index tuning (large mode): rows per IVF partition, HNSW m / ef_construction, k-means sample rate, nprobes
    // swept, ef swept, and --no-refresh to skip the arrivals, the refresh and the clean-up.
    'rows-per-partition': { type: 'string' },
    m: { type: 'string' },
    'ef-construction': { type: 'string' },
    'sample-rate': { type: 'string' },
    nprobes: { type: 'string' },
    efs: { type: 'string' },
    'no-refresh': { type: 'boolean', default: false },
  },
});
const QUICK = values.quick;
const N = Number(values.points ?? values.n ?? (QUICK ? 20_000 : 100_000));
/** Large mode: stream the data (1M x 768 float32 is ~3 GiB) and skip the phases that rebuild the index many times. */
const LARGE = N > 200_000 || values.large;
const Q = Number(values.queries ?? (QUICK ? 200 : LARGE ? 100 : 1_000));
const DIM = Number(values.dim ?? 768);
const K = 10;
/** Comma-separated numbers of an option. */
const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map(Number));
const EFS = QUICK ? [16, 48, 96, 128, 192] : [16, 32, 48, 64, 96, 128, 160, 192, 256];

function machine(): string[] {
  const ver = (p: string) => {
    try {
      return (
        JSON.parse(readFileSync(join(import.meta.dirname, '..', 'node_modules', p, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      return '?';
    }
  };
  const c = cpus();
  return [
    `CPU: ${c[0]?.model ?? 'unknown'} x ${c.length} logical cores (load average at start ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})`,
    `Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`,
    `Node ${process.version} ${process.platform}/${process.arch}; @lancedb/lancedb ${ver('@lancedb/lancedb')}, apache-arrow ${ver('apache-arrow')}`,
  ];
}

const sample = createGenerator(DIM);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    total += e.isDirectory() ? folderBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return total;
}
const fmt = (x: number, d = 2) => x.toFixed(d);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
function progress(label: string, done: number, total: number, t0: number): void {
  const s = (performance.now() - t0) / 1000;
  const rate = done / Math.max(s, 1e-9);
  process.stderr.write(
    `\r  ${label}: ${done}/${total} (${fmt(rate, 0)}/s, ETA ${fmt((total - done) / Math.max(rate, 1e-9), 0)} s)   `,
  );
  if (done === total) process.stderr.write('\n');
}

async function main(): Promise<void> {
  console.log(`# Vector store benchmark (${QUICK ? 'quick' : 'full'}): ${N} x ${DIM} vectors, ${Q} queries, top ${K}`);
  for (const l of machine()) console.log(`  ${l}`);
  if (LARGE) {
    await runLarge({
      n: N,
      queries: Q,
      dim: DIM,
      k: K,
      efs: list(values.efs) ?? [32, 64, 96, 128, 192, 256],
      nprobes: list(values.nprobes) ?? [],
      noRefresh: values['no-refresh'],
      ...(values.m || values['ef-construction']
        ? { hnsw: { m: Number(values.m ?? 16), efConstruct: Number(values['ef-construction'] ?? 100) } }
        : {}),
      policy: {
        ...(values['rows-per-partition'] ? { rowsPerPartition: Number(values['rows-per-partition']) } : {}),
        ...(values['sample-rate'] ? { indexSampleRate: Number(values['sample-rate']) } : {}),
      },
      keep: values.keep,
      dataDir: values['data-dir'],
      sample,
      progress,
      folderBytes,
      pct,
    });
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'vs-bench-'));
  const logger = createLogger('vector-store-bench', 'warn', process.stderr);
  const { store, schema } = await openBenchStore(dataDir, DIM);

  let t0 = performance.now();
  const points: UpsertPoint[] = [];
  for (let i = 0; i < N; i++) {
    const { v, cluster } = sample();
    points.push({
      assetId: i.toString(16).padStart(32, '0'),
      vector: v,
      payload: {
        path: `/photos/c${cluster}/img_${i}.jpg`,
        path_hash: `h${i}`,
        category: `c${cluster % 20}`,
        width: 4000,
        height: 3000,
        date_taken: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString(),
      },
    });
  }
  const queries = Array.from({ length: Q }, () => sample().v);
  console.log(
    `\nData: ${CLUSTERS} topics in ${LATENT} latent dims -> ${DIM} dims + noise, L2-normalised (generated in ${fmt((performance.now() - t0) / 1000, 1)} s)`,
  );

  // 1. Bulk upsert, batches of 1,000 (each one merge-insert commit).
  const BATCH = 1_000;
  t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    await store.upsert(schema.name, points.slice(i, i + BATCH));
    progress('bulk upsert', Math.min(N, i + BATCH), N, t0);
  }
  const bulkS = (performance.now() - t0) / 1000;
  const bulkRate = N / bulkS;

  // 1b. The same load with the default policy: index build, refreshes and rebuilds run in the background
  //     (duty-cycle limited) while upserts continue, as in a live re-embedding.
  const liveN = Math.round(N / 2);
  const liveStore = await LanceVectorStore.open({ dataDir, logger });
  const liveSchema = collectionSchema('siglip', { name: 'bench_live', vectorSize: DIM });
  await liveStore.ensureCollection(liveSchema);
  t0 = performance.now();
  for (let i = 0; i < liveN; i += BATCH) {
    await liveStore.upsert(liveSchema.name, points.slice(i, Math.min(liveN, i + BATCH)));
    progress('bulk upsert, background maintenance on', Math.min(liveN, i + BATCH), liveN, t0);
  }
  const liveRate = liveN / ((performance.now() - t0) / 1000);
  await liveStore.idle();
  const liveStats = await liveStore.storageStats(liveSchema.name);
  await liveStore.dropCollection(liveSchema.name);
  await liveStore.close();

  // 2. Exact search (the engine's flat scan) = ground truth and the no-index baseline.
  t0 = performance.now();
  const truth: string[][] = [];
  const exactLat: number[] = [];
  for (let q = 0; q < Q; q++) {
    const s = performance.now();
    truth.push((await store.search(schema.name, { vector: queries[q]!, limit: K, exact: true })).map((h) => h.assetId));
    exactLat.push(performance.now() - s);
    if (q % 20 === 19 || q === Q - 1) progress('exact search (ground truth)', q + 1, Q, t0);
  }
  exactLat.sort((a, b) => a - b);

  // 3. Index build: compaction + IVF_HNSW_SQ (m 16, ef_construction 100, int8) + scalar indexes.
  const sizeBefore = folderBytes(dataDir);
  t0 = performance.now();
  const built = await store.optimize(schema.name, { force: true });
  const buildS = (performance.now() - t0) / 1000;
  const sizeAfter = folderBytes(dataDir);

  // 4. Recall / latency over ef.
  const curve: { ef: number; recall: number; p50: number; p95: number; p99: number; qps: number }[] = [];
  for (const ef of EFS) {
    for (let w = 0; w < Math.min(20, Q); w++) await store.search(schema.name, { vector: queries[w]!, limit: K, ef });
    const lat: number[] = [];
    let hits = 0;
    const tc = performance.now();
    for (let q = 0; q < Q; q++) {
      const s = performance.now();
      const res = await store.search(schema.name, { vector: queries[q]!, limit: K, ef });
      lat.push(performance.now() - s);
      const t = new Set(truth[q]);
      hits += res.filter((h) => t.has(h.assetId)).length;
    }
    const wall = (performance.now() - tc) / 1000;
    lat.sort((a, b) => a - b);
    curve.push({
      ef,
      recall: hits / (Q * K),
      p50: pct(lat, 0.5),
      p95: pct(lat, 0.95),
      p99: pct(lat, 0.99),
      qps: Q / wall,
    });
    process.stderr.write(`  ef=${ef}: recall ${fmt(hits / (Q * K), 3)}, p50 ${fmt(pct(lat, 0.5))} ms\n`);
  }

  // 4b. Filtered search (category = one of 20 values, ~5% of points): the filter applies before the index search.
  const fq = Math.min(200, Q);
  const { fLat, fHits, fTotal } = await filteredSearch(store, schema.name, queries.slice(0, fq), K);

  // 5. Incremental: 5% more points arrive after the index exists (searchable at once, folded in by optimize).
  const extra = Math.round(N * 0.05);
  const more: UpsertPoint[] = Array.from({ length: extra }, (_, i) => ({
    assetId: `x${i}`,
    vector: sample().v,
    payload: { category: 'late' },
  }));
  t0 = performance.now();
  for (let i = 0; i < extra; i += 100) await store.upsert(schema.name, more.slice(i, i + 100));
  const smallBatchRate = extra / ((performance.now() - t0) / 1000);
  const unindexedLat: number[] = [];
  for (let q = 0; q < Math.min(200, Q); q++) {
    const s = performance.now();
    await store.search(schema.name, { vector: queries[q]!, limit: K });
    unindexedLat.push(performance.now() - s);
  }
  unindexedLat.sort((a, b) => a - b);
  t0 = performance.now();
  await store.optimize(schema.name, { force: true });
  const refreshS = (performance.now() - t0) / 1000;
  const info = await store.info(schema.name);
  const afterRefresh: number[] = [];
  let refreshHits = 0;
  for (let q = 0; q < Math.min(200, Q); q++) {
    const s = performance.now();
    const res = await store.search(schema.name, { vector: queries[q]!, limit: K, exact: false });
    afterRefresh.push(performance.now() - s);
    const t = new Set(
      (await store.search(schema.name, { vector: queries[q]!, limit: K, exact: true })).map((h) => h.assetId),
    );
    refreshHits += res.filter((h) => t.has(h.assetId)).length;
  }
  afterRefresh.sort((a, b) => a - b);
  // 6. Kept up to date: rounds of arrivals (1% of N each, batches of 100), each followed by the refresh the
  //    maintenance policy would run; tracks refresh cost, index segments, latency and recall as they pile up.
  const rounds: {
    round: number;
    rows: number;
    refreshS: number;
    action: string;
    segments: number;
    recall: number;
    p50: number;
  }[] = [];
  const ROUNDS = QUICK ? 4 : 10;
  const roundQ = Math.min(50, Q);
  for (let r = 1; r <= ROUNDS; r++) {
    const add: UpsertPoint[] = Array.from({ length: Math.round(N * 0.01) }, (_, i) => ({
      assetId: `r${r}_${i}`,
      vector: sample().v,
      payload: { category: 'late' },
    }));
    for (let i = 0; i < add.length; i += 100) await store.upsert(schema.name, add.slice(i, i + 100));
    const tr = performance.now();
    const res = await store.optimize(schema.name, { force: true });
    const rs = (performance.now() - tr) / 1000;
    const st = await store.storageStats(schema.name);
    const lat: number[] = [];
    let hits = 0;
    for (let q = 0; q < roundQ; q++) {
      const s = performance.now();
      const got = await store.search(schema.name, { vector: queries[q]!, limit: K });
      lat.push(performance.now() - s);
      const t = new Set(
        (await store.search(schema.name, { vector: queries[q]!, limit: K, exact: true })).map((h) => h.assetId),
      );
      hits += got.filter((h) => t.has(h.assetId)).length;
    }
    lat.sort((a, b) => a - b);
    rounds.push({
      round: r,
      rows: st.numRows,
      refreshS: rs,
      action: res.action,
      segments: st.indexSegments,
      recall: hits / (roundQ * K),
      p50: pct(lat, 0.5),
    });
    process.stderr.write(
      `  round ${r}: ${res.action} ${fmt(rs, 1)} s, ${st.indexSegments} segments, p50 ${fmt(pct(lat, 0.5))} ms\n`,
    );
  }
  const live = await store.storageStats(schema.name);
  await store.close();
  // Old versions are kept 6 h for running scrolls; measure the folder once they are gone too.
  const cleaner = await LanceVectorStore.open({ dataDir, logger, policy: { versionRetentionMs: 0 } });
  await cleaner.optimize(schema.name, { force: true });
  await cleaner.close();
  const sizeCleaned = folderBytes(dataDir);

  const def = curve.find((c) => c.ef === DEFAULT_EF) ?? curve.find((c) => c.recall >= 0.95) ?? curve.at(-1)!;
  console.log(`\n## Results\n`);
  console.log(`| measure | value | target |\n|---|---|---|`);
  console.log(
    `| bulk upsert (batches of ${BATCH}, merge-insert on point id) | ${fmt(bulkRate, 0)} points/s (${N} in ${fmt(bulkS, 1)} s) | >= 2,000 points/s ${bulkRate >= 2000 ? 'PASS' : 'FAIL'} |`,
  );
  console.log(
    `| bulk upsert with the default policy (index built at ${DEFAULT_POLICY.indexThreshold}, refreshed/rebuilt in the background), ${liveN} points | ${fmt(liveRate, 0)} points/s (then ${liveStats.indexSegments} index segments, ${liveStats.unindexedRows} unindexed rows) | |`,
  );
  console.log(`| upsert into the indexed table (batches of 100) | ${fmt(smallBatchRate, 0)} points/s | |`);
  console.log(
    `| index build (compaction + IVF_HNSW_SQ m 16, ef_construction 100, int8 + scalar indexes) | ${fmt(buildS, 1)} s (${built.action}) | |`,
  );
  console.log(
    `| index refresh after +${extra} points (optimize) | ${fmt(refreshS, 1)} s; status ${info.status}, indexed ${info.indexed} | |`,
  );
  console.log(
    `| search after the refresh (default ef) | recall@10 ${fmt(refreshHits / (Math.min(200, Q) * K), 3)}, p50 ${fmt(pct(afterRefresh, 0.5))} ms | |`,
  );
  console.log(
    `| data folder | ${mib(sizeBefore)} after the load; ${mib(sizeAfter)} after the index build incl. old versions; ${mib(sizeCleaned)} once old versions are cleaned (${fmt(sizeCleaned / (N + extra), 0)} B/point); live table ${mib(live.totalBytes)} in ${live.numFragments} fragments | |`,
  );
  console.log(`| exact search (flat scan) | p50 ${fmt(pct(exactLat, 0.5))} ms, p95 ${fmt(pct(exactLat, 0.95))} ms | |`);
  console.log(
    `| indexed search, default ef ${def.ef} | recall@10 ${fmt(def.recall, 3)}, p50 ${fmt(def.p50)} ms | recall >= 0.95 ${def.recall >= 0.95 ? 'PASS' : 'FAIL'}, p50 <= 5 ms ${def.p50 <= 5 ? 'PASS' : 'FAIL'} |`,
  );
  console.log(
    `| filtered search (category = 'c3', ~5% of points), default ef, ${fq} queries | recall@10 ${fmt(fHits / fTotal, 3)}, p50 ${fmt(pct(fLat, 0.5))} ms, p95 ${fmt(pct(fLat, 0.95))} ms | |`,
  );
  console.log(
    `| search with ${extra} unindexed rows pending (default ef) | p50 ${fmt(pct(unindexedLat, 0.5))} ms, p95 ${fmt(pct(unindexedLat, 0.95))} ms | |`,
  );
  console.log(`\n### Recall@10 / latency over HNSW ef (${Q} queries, sequential, through LanceVectorStore.search)\n`);
  console.log(
    `| ef | recall@10 | p50 ms | p95 ms | p99 ms | QPS (1 client) | p50 vs exact |\n|---|---|---|---|---|---|---|`,
  );
  for (const c of curve)
    console.log(
      `| ${c.ef} | ${fmt(c.recall, 3)} | ${fmt(c.p50)} | ${fmt(c.p95)} | ${fmt(c.p99)} | ${fmt(c.qps, 0)} | ${fmt(pct(exactLat, 0.5) / c.p50, 1)}x faster |`,
    );
  console.log(
    `\n### Kept up to date: +1% of N per round (batches of 100), then the refresh (${roundQ} queries per round)\n`,
  );
  console.log(`| round | rows | refresh | s | index segments | recall@10 | p50 ms |\n|---|---|---|---|---|---|---|`);
  for (const r of rounds)
    console.log(
      `| ${r.round} | ${r.rows} | ${r.action} | ${fmt(r.refreshS, 1)} | ${r.segments} | ${fmt(r.recall, 3)} | ${fmt(r.p50)} |`,
    );
  console.log(
    `\nPolicy: index built at ${DEFAULT_POLICY.indexThreshold} rows; refreshed when unindexed rows >= max(${DEFAULT_POLICY.reindexMinRows}, ${DEFAULT_POLICY.reindexFraction * 100}% of indexed); rebuilt past ${DEFAULT_POLICY.maxIndexSegments} index segments up to ${DEFAULT_POLICY.segmentRebuildMaxRows} rows (above: once ${DEFAULT_POLICY.rebuildFraction * 100}% of the rows are new or past ${DEFAULT_POLICY.maxIndexSegmentsLarge} segments); one IVF partition per ${DEFAULT_POLICY.rowsPerPartition} rows; background maintenance <= ${DEFAULT_POLICY.maxDutyCycle * 100}% of wall time.`,
  );
  console.log(
    `Load average at end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  if (values.usearch) compareUsearch(values.usearch, points, queries, truth, dataDir);
  if (values.keep) console.log(`Data folder kept: ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}

interface UsearchIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
  search(vector: Float32Array, k: number, threads?: number): { keys: BigUint64Array };
  save(path: string): void;
  load(path: string): void;
}

/**
 * The alternative considered: usearch (HNSW, int8) on the same vectors and ground truth. In-memory index
 * with save/load to one file: it has no transactions, no concurrent writers and no payload filtering.
 */
function compareUsearch(
  dir: string,
  points: UpsertPoint[],
  queries: Float32Array[],
  truth: string[][],
  dataDir: string,
): void {
  const usearch = createRequire(join(resolve(dir), 'package.json'))('usearch') as {
    Index: new (o: Record<string, unknown>) => UsearchIndex;
  };
  const flat = new Float32Array(points.length * DIM);
  points.forEach((p, i) => flat.set(p.vector as Float32Array, i * DIM));
  const keys = BigUint64Array.from(points, (_, i) => BigInt(i));
  const config = { dimensions: DIM, metric: 'cos', quantization: 'i8', connectivity: 16, expansion_add: 100 };
  let t0 = performance.now();
  const index = new usearch.Index({ ...config, expansion_search: 64 });
  index.add(keys, flat, cpus().length);
  const buildS = (performance.now() - t0) / 1000;
  const file = join(dataDir, 'usearch.index');
  index.save(file);
  console.log(
    `\n### Alternative: usearch 2.26 (HNSW, i8, M 16, expansion_add 100; in-memory, ${cpus().length} threads to build)\n`,
  );
  console.log(
    `Build ${fmt(buildS, 1)} s (${fmt(points.length / buildS, 0)} points/s); index file ${mib(statSync(file).size)} (vectors int8 only: no payload, no float vectors).\n`,
  );
  console.log(`| expansion_search | recall@10 | p50 ms | p95 ms |\n|---|---|---|---|`);
  for (const ef of [16, 32, 64, 128, 256]) {
    const ix = new usearch.Index({ ...config, expansion_search: ef });
    ix.load(file);
    const lat: number[] = [];
    let hits = 0;
    for (let q = 0; q < queries.length; q++) {
      t0 = performance.now();
      const r = ix.search(queries[q]!, K, 1);
      lat.push(performance.now() - t0);
      const t = new Set(truth[q]);
      for (const k of r.keys) if (t.has(points[Number(k)]!.assetId)) hits++;
    }
    lat.sort((a, b) => a - b);
    console.log(
      `| ${ef} | ${fmt(hits / (queries.length * K), 3)} | ${fmt(pct(lat, 0.5), 3)} | ${fmt(pct(lat, 0.95), 3)} |`,
    );
  }
}

await main();
