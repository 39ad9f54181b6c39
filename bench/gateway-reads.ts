// The read benchmark of bench/gateway.bench.ts (--reads): every read endpoint at 32 closed-loop clients
// (bench/reads-load.ts, its own process), /health and the store called directly in the same run, over a
// store seeded in bulk and one filled the way ingest fills it (batches of 32, index maintenance running).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { collectionSchema } from '@image-search/collection-schema';
import type { Logger } from '@image-search/service-kit';
import { LanceVectorStore, type UpsertPoint } from '@image-search/vector-store';
import { contentHash, LanceAssetCatalogue, type CatalogueWrite } from '@image-search/asset-catalogue';
import { EmbedderClient } from '@image-search/embedder-client';
import { freePort, REPO_ROOT, startTsProcess, waitFor, type TestProcess } from '@image-search/testing';
import { median, percentile, printTable } from './embedders-support.js';
import type { ReadEndpoint } from './reads-load.js';

/** What one read run needs. */
export interface ReadsBenchOptions {
  points: number;
  fill: 'bulk' | 'ingest';
  /** Seconds per endpoint. */
  durationS: number;
  connections: number;
  dataDir: string;
  clipAddress: string;
  dim: number;
  queuePrefix: string;
  logger: Logger;
  /** Assets with a real JPEG behind them (thumbnails); the rest have paths only. */
  realFiles: number;
  /** Folder for the gateway's V8 CPU profile (node --cpu-prof), written when it stops. */
  profileDir?: string | undefined;
  /** The embedder's process id: its CPU per request is printed beside the gateway's. */
  embedderPid?: number | undefined;
  /** Seed (or find seeded) and return without measuring. */
  seedOnly?: boolean | undefined;
  /** Only these endpoints (load names: asset, thumbnail, list, similar, search); all when unset. */
  only?: string[] | undefined;
}

/** Figures of one endpoint under load. */
export interface LoadFigures {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  requests: number;
  /** /health's rate around this run (mean of the runs just before and after). */
  healthRps?: number;
  /** Gateway process CPU (all its threads, the engine's included) per request, ms: steadier than req/s on a shared machine. */
  cpuMs?: number;
  /** The embedder process's CPU per request, ms (text search embeds each query there). */
  embedderCpuMs?: number;
  /** The load generator's CPU per request, ms (it shares the machine). */
  clientCpuMs?: number;
}

const COLLECTION = 'bench_clip';
const CATEGORIES = 50;

function unitVector(dim: number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = Math.random() * 2 - 1;
    n += v[i]! * v[i]!;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i]! /= n;
  return v;
}

/** Real photos-sized JPEGs (noise, so they compress like photos) for the thumbnail sample. */
export async function writePhotos(dir: string, n: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `photo-${i}.jpg`);
    if (!existsSync(p))
      await sharp({
        create: { width: 1600, height: 1200, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: 90 } },
        // Noise so that each photo is a realistic JPEG (hundreds of KB), not a flat colour.
      })
        .composite([
          {
            input: Buffer.from(Array.from({ length: 200 * 150 * 3 }, () => Math.floor(Math.random() * 256))),
            raw: { width: 200, height: 150, channels: 3 },
            tile: true,
            blend: 'overlay',
          },
        ])
        .jpeg({ quality: 85 })
        .toFile(p);
    paths.push(p);
  }
  return paths;
}

/** The payload ingest writes for a file (path fields, dimensions, format, dates, content hash). */
export function pointFor(j: number, dim: number, realPath: string | undefined): UpsertPoint {
  const path = realPath ?? `/bench/photos/cat-${j % CATEGORIES}/img-${j}.jpg`;
  const hash = createHash('sha256').update(path).digest('hex');
  // `sha256:<hex>` of the bytes, as ingest records it (the thumbnail URL is keyed by it).
  const content = realPath ? contentHash(readFileSync(realPath)) : `sha256:${hash}`;
  return {
    assetId: hash.slice(0, 32),
    vector: unitVector(dim),
    payload: {
      path,
      path_hash: hash,
      category: `cat-${j % CATEGORIES}`,
      width: 1600,
      height: 1200,
      format: 'jpeg',
      file_size: 200_000 + j,
      file_mtime_ms: 1_700_000_000_000 + j,
      content_hash: content,
      date_taken: new Date(1_600_000_000_000 + j * 60_000).toISOString(),
      created_at: new Date().toISOString(),
    },
  };
}

/** Fills the store (bulk: 5,000 a write, index built once; ingest: 32 a write, maintenance as it runs). */
async function seed(o: ReadsBenchOptions, photos: string[]): Promise<{ ids: string[]; sampleIds: string[] }> {
  const marker = join(o.dataDir, `seeded-${o.fill}-${o.points}.json`);
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as { ids: string[]; sampleIds: string[] };
  rmSync(o.dataDir, { recursive: true, force: true });
  mkdirSync(o.dataDir, { recursive: true });
  // Bulk: no maintenance while writing, one optimize (compaction + index build) at the end; ingest: the
  // default policy, maintenance running between the small writes as in the gateway.
  const store = await LanceVectorStore.open({
    dataDir: o.dataDir,
    logger: o.logger,
    ...(o.fill === 'bulk'
      ? { policy: { indexThreshold: Number.MAX_SAFE_INTEGER, compactFragments: Number.MAX_SAFE_INTEGER } }
      : {}),
  });
  // The catalogue under DATA_DIR, written as ingest writes it (the same batches, before the vectors): the
  // thumbnail and old-address routes read it.
  const catalogue = await LanceAssetCatalogue.open({ dataDir: o.dataDir });
  const ids: string[] = [];
  try {
    await store.ensureCollection(collectionSchema('clip', { name: COLLECTION, vectorSize: o.dim }));
    const batch = o.fill === 'bulk' ? 5_000 : 32;
    const t0 = performance.now();
    for (let i = 0; i < o.points; i += batch) {
      const pts: UpsertPoint[] = [];
      for (let j = i; j < Math.min(o.points, i + batch); j++) pts.push(pointFor(j, o.dim, photos[j]));
      await catalogue.upsert(pts.map((p): CatalogueWrite => catalogueEntryOf(p)));
      await store.upsert(COLLECTION, pts);
      ids.push(...pts.map((p) => p.assetId));
      const rate = ids.length / ((performance.now() - t0) / 1000);
      process.stderr.write(
        `\r  seeding (${o.fill}): ${ids.length}/${o.points} (${rate.toFixed(0)}/s, ETA ${((o.points - ids.length) / rate).toFixed(0)} s)   `,
      );
    }
    process.stderr.write('\n');
    if (o.fill === 'bulk') await store.optimize(COLLECTION, { force: true });
    // Ingest: the store settles itself once the writes stop (compaction + index refresh after `settleAfterMs`).
    else await store.settled();
  } finally {
    await store.close();
    await catalogue.close();
  }
  const out = { ids, sampleIds: ids.slice(0, photos.length) };
  writeFileSync(marker, JSON.stringify(out));
  return out;
}

/** The catalogue entry ingest writes beside a point (the thumbnail routes read it). */
export function catalogueEntryOf(p: UpsertPoint): CatalogueWrite {
  return { assetId: p.assetId, path: String(p.payload['path']), contentHash: String(p.payload['content_hash']) };
}

/** utime + stime of a process, ms (Linux /proc). */
export function cpuOf(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

async function load(
  url: string,
  endpoint: ReadEndpoint,
  o: ReadsBenchOptions,
  idsFile: string,
  pid?: number,
): Promise<LoadFigures> {
  const [c0, e0] = [cpuOf(pid), cpuOf(o.embedderPid)];
  const f = await loadRun(url, endpoint, o, idsFile);
  const n = Math.max(1, f.requests);
  return { ...f, cpuMs: (cpuOf(pid) - c0) / n, embedderCpuMs: (cpuOf(o.embedderPid) - e0) / n };
}

export function loadRun(
  url: string,
  endpoint: ReadEndpoint,
  o: ReadsBenchOptions,
  idsFile: string,
): Promise<LoadFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [
        join(REPO_ROOT, 'bench/reads-load.ts'),
        JSON.stringify({
          url,
          connections: o.connections,
          durationS: o.durationS,
          endpoint,
          idsFile,
          seed: `${o.fill}${o.points}-`,
          categories: CATEGORIES,
        }),
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load exited ${code}`)),
    );
  });
}

/** The store called directly, `connections` calls in flight, as the gateway calls it. */
async function direct(
  o: ReadsBenchOptions,
  ids: string[],
  call: (s: LanceVectorStore, id: string) => Promise<unknown>,
): Promise<LoadFigures> {
  const store = await LanceVectorStore.open({ dataDir: o.dataDir, logger: o.logger, readConsistencyMs: 500 });
  const lat: number[] = [];
  try {
    await call(store, ids[0]!);
    const end = performance.now() + o.durationS * 1000;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const e0 = cpuOf(o.embedderPid);
    await Promise.all(
      Array.from({ length: o.connections }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          await call(store, ids[Math.floor(Math.random() * ids.length)]!);
          lat.push(performance.now() - t);
        }
      }),
    );
    const s = (performance.now() - t0) / 1000;
    return {
      rps: lat.length / s,
      p50: median(lat),
      p95: percentile(lat, 95),
      p99: percentile(lat, 99),
      errors: 0,
      requests: lat.length,
      cpuMs: ((c) => (c.user + c.system) / 1000)(process.cpuUsage(c0)) / Math.max(1, lat.length),
      embedderCpuMs: (cpuOf(o.embedderPid) - e0) / Math.max(1, lat.length),
    };
  } finally {
    await store.close();
  }
}

/** One full read run: seed (or reuse), gateway up, every endpoint, the direct store; prints and returns the figures. */
export async function runReadsBench(o: ReadsBenchOptions): Promise<Record<string, LoadFigures>> {
  const photos = await writePhotos(`${o.dataDir}-photos`, o.realFiles);
  const { ids, sampleIds } = await seed(o, photos);
  if (o.seedOnly) {
    console.log(`seeded: ${ids.length} points (${o.fill}) in ${o.dataDir}`);
    return {};
  }
  const port = await freePort();
  const gw: TestProcess = startTsProcess(
    'apps/gateway/src/main.ts',
    {
      GATEWAY_PORT: String(port),
      CLIP_EMBEDDER_URL: o.clipAddress,
      SIGLIP_EMBEDDER_URL: '',
      DATA_DIR: o.dataDir,
      CLIP_COLLECTION: COLLECTION,
      SIGLIP_COLLECTION: 'bench_siglip',
      CLIP_EMBEDDING_DIM: '0',
      ASSET_ROOTS: `${o.dataDir}-photos`,
      RATE_LIMIT_SEARCH_PER_MIN: '0',
      RATE_LIMIT_UPLOAD_PER_MIN: '0',
      QUEUE_PREFIX: o.queuePrefix,
      INGEST_WORKER: 'false',
      LOG_LEVEL: 'warn',
    },
    [],
    o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [],
  );
  const url = `http://127.0.0.1:${port}`;
  const figures: Record<string, LoadFigures> = {};
  try {
    try {
      await waitFor('gateway ready', async () => (await fetch(`${url}/ready`)).status === 200, 400_000, 500);
    } catch (err) {
      console.error(gw.output().slice(-4000));
      throw err;
    }
    // The thumbnail URLs the API hands out (what a page loads), rendered once so the runs read the cache.
    const thumbnails: string[] = [];
    for (const id of sampleIds) {
      const view = (await (await fetch(`${url}/api/v1/assets/${id}`)).json()) as { asset: { thumbnail_url: string } };
      const t = await fetch(`${url}${view.asset.thumbnail_url}`);
      if (t.status !== 200) throw new Error(`thumbnail of ${id}: HTTP ${t.status}`);
      thumbnails.push(view.asset.thumbnail_url);
    }
    const idsFile = join(o.dataDir, 'bench-ids.json');
    writeFileSync(idsFile, JSON.stringify({ ids, thumbnails }));
    await load(url, 'search', { ...o, durationS: 3 }, idsFile); // warm-up (JIT, connections, index cache)
    const endpoints: [string, ReadEndpoint][] = [
      ['GET /health', 'health'],
      ['GET /api/v1/assets/:id', 'asset'],
      ['GET thumbnail (cached)', 'thumbnail'],
      ['GET /api/v1/assets?limit=50', 'list'],
      ['GET /api/v1/assets, ~1,000 distinct pages', 'list-distinct'],
      ['GET /api/v1/assets, paging through (cursors)', 'list-pages'],
      ['GET /api/v1/search/similar/:id', 'similar'],
      ['POST /api/v1/search (distinct)', 'search'],
    ];
    // /health runs before every endpoint and once more at the end: on a shared machine the load moves
    // during a run, so each endpoint is compared with the mean of the /health runs on either side of it.
    // A profile of one endpoint (--only with --profile) leaves /health out, so the profile is that endpoint's alone.
    const healthRun = () =>
      o.only && o.profileDir
        ? Promise.resolve({ rps: Number.NaN, p50: 0, p95: 0, p99: 0, errors: 0, requests: 0 })
        : load(url, 'health', o, idsFile, gw.child.pid);
    const health: LoadFigures[] = [await healthRun()];
    for (const [name, e] of endpoints.slice(1).filter(([, e]) => !o.only || o.only.includes(e))) {
      figures[name] = await load(url, e, o, idsFile, gw.child.pid);
      health.push(await healthRun());
      const [a, b] = [health.at(-2)!, health.at(-1)!];
      figures[name].healthRps = (a.rps + b.rps) / 2;
    }
    figures['GET /health'] = {
      rps: median(health.map((h) => h.rps)),
      p50: median(health.map((h) => h.p50)),
      p95: median(health.map((h) => h.p95)),
      p99: median(health.map((h) => h.p99)),
      errors: health.reduce((a, h) => a + h.errors, 0),
      requests: health.reduce((a, h) => a + h.requests, 0),
      cpuMs: median(health.map((h) => h.cpuMs ?? Number.NaN)),
    };
    figures['gateway RSS MiB'] = { rps: Number(/\d+/.exec(gwRss(gw))?.[0] ?? 0) } as LoadFigures;
  } finally {
    await gw.stop('SIGTERM', 20_000);
  }
  // The same store calls, made directly at the same concurrency, with the gateway stopped.
  figures['store direct: retrieve by id'] = await direct(o, ids, (s, id) => s.retrieve(COLLECTION, [id]));
  figures['store direct: search limit 50'] = await direct(o, ids, (s) =>
    s.search(COLLECTION, { vector: unitVector(o.dim), limit: 50 }),
  );
  figures['store direct: retrieve with vector + search'] = await direct(o, ids, async (s, id) => {
    const [p] = await s.retrieve(COLLECTION, [id], { withVectors: true });
    return s.search(COLLECTION, { vector: p!.vector!, limit: 50 });
  });
  // What a text search must do besides the store search: embed a new text through the embedder (one gRPC
  // call each, not coalesced). Printed so the reader sees how much of the machine the embedding takes; the
  // target stays the ratio to the store search alone.
  const embedder = new EmbedderClient({ address: o.clipAddress, defaultDeadlineMs: 60_000 });
  let k = 0;
  const text = () => `direct ${o.fill}${o.points} photo ${k++}`;
  try {
    figures['embedder direct: one new text'] = await direct(o, ids, () => embedder.embedTexts([text()]));
    figures['store direct: embed text + search limit 50'] = await direct(o, ids, async (s) => {
      const [r] = await embedder.embedTexts([text()]);
      if (!r?.ok) throw new Error(`embedding failed: ${r?.message}`);
      return s.search(COLLECTION, { vector: r.vector, limit: 50 });
    });
  } finally {
    embedder.close();
  }
  report(o, figures);
  return figures;
}

function gwRss(gw: TestProcess): string {
  try {
    return String(
      Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gw.child.pid}/status`, 'utf8'))?.[1]) / 1024),
    );
  } catch {
    return '0';
  }
}

function report(o: ReadsBenchOptions, f: Record<string, LoadFigures>): void {
  const health = f['GET /health']!.rps;
  const search = f['store direct: search limit 50']!.rps;
  const similarDirect = f['store direct: retrieve with vector + search']!.rps;
  console.log(
    `\n## Reads: ${o.points} points, ${o.fill}-filled store, ${o.connections} clients, ${o.durationS} s each\n`,
  );
  printTable(
    Object.entries(f)
      .filter(([k]) => k !== 'gateway RSS MiB')
      .map(([k, v]) => ({
        request: k,
        'req/s': v.rps,
        'p50 ms': v.p50,
        'p95 ms': v.p95,
        'p99 ms': v.p99,
        errors: v.errors,
        'CPU ms/req': (v.cpuMs ?? Number.NaN).toFixed(2),
        'client CPU ms/req': (v.clientCpuMs ?? Number.NaN).toFixed(2),
        'embedder CPU ms/req': (v.embedderCpuMs ?? Number.NaN).toFixed(2),
        'vs /health': /^(store|embedder) direct/.test(k) ? '' : (v.rps / (v.healthRps ?? health)).toFixed(2),
      })),
  );
  const ratio = (k: string, base: number) => f[k]!.rps / (base === health ? (f[k]!.healthRps ?? health) : base);
  const lines: string[] = [];
  for (const k of [
    'GET /api/v1/assets/:id',
    'GET thumbnail (cached)',
    'GET /api/v1/assets?limit=50',
    'GET /api/v1/assets, ~1,000 distinct pages',
    'GET /api/v1/assets, paging through (cursors)',
  ]) {
    if (!f[k]) continue;
    const r = ratio(k, health);
    lines.push(
      `${k}: ${r.toFixed(2)} × /health (≥ 0.5), p99 ${f[k]!.p99.toFixed(1)} ms (≤ 100) → ${r >= 0.5 && f[k]!.p99 <= 100 ? 'MET' : 'NOT MET'}`,
    );
  }
  if (f['GET /api/v1/search/similar/:id']) {
    const sim = ratio('GET /api/v1/search/similar/:id', similarDirect);
    lines.push(
      `similar-by-id: ${sim.toFixed(2)} × the direct retrieve + search (≥ 0.8) → ${sim >= 0.8 ? 'MET' : 'NOT MET'}`,
    );
  }
  if (f['POST /api/v1/search (distinct)']) {
    const txt = ratio('POST /api/v1/search (distinct)', search);
    lines.push(
      `distinct text search: ${txt.toFixed(2)} × the direct search (≥ 0.8) → ${txt >= 0.8 ? 'MET' : 'NOT MET'}`,
    );
    const both = f['store direct: embed text + search limit 50'];
    if (both)
      lines.push(
        `(not a target) distinct text search: ${ratio('POST /api/v1/search (distinct)', both.rps).toFixed(2)} × the direct embed + search, the same work without HTTP`,
      );
  }
  console.log(`\nTargets (ratios in this run; /health: the mean of the runs either side):\n- ${lines.join('\n- ')}`);
  console.log(`Gateway RSS after the run: ${f['gateway RSS MiB']!.rps} MiB`);
}
