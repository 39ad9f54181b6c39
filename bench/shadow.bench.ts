// Shadow comparison cost (a script, not a test): what SHADOW_PERCENTAGE=100 costs the user's search.
// Three gateway processes on one store and the same two embedder processes: shadow off, shadow 100 %
// with the default budget (SHADOW_MAX_PER_S=50, SHADOW_MAX_CONCURRENCY=4), and shadow 100 % without a
// per-second budget (every search shadowed, concurrency 4). Rounds alternate between them, so drift
// (other load on the machine) hits all three alike; between rounds the shadow work in flight is let
// finish, so it never spills into the next contender's round. Distinct queries: no cache helps.
//   npx tsx bench/shadow.bench.ts [--points 5000] [--rounds 6] [--requests 150] [--concurrency 4 | --rate 20] [--models DIR]
// --models: a folder with clip/ and siglip/ full-size models (tools:make-bench-models); default the tiny colour models.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createLogger } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import { createVectorStore } from '@image-search/vector-store';
import { COLOUR_WORDS } from '@image-search/model-builder';
import {
  deleteKeys,
  freePort,
  REPO_ROOT,
  startTsProcess,
  testRedis,
  tinyModelDir,
  waitFor,
  type TestProcess,
} from '@image-search/testing';
import { machine, median, percentile, printTable, progress, startServed } from './embedders-support.js';

const { values: args } = parseArgs({
  options: {
    points: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '6' },
    requests: { type: 'string', default: '150' },
    concurrency: { type: 'string', default: '4' },
    rate: { type: 'string', default: '0' },
    models: { type: 'string' },
  },
});
const POINTS = Number(args.points);
const ROUNDS = Number(args.rounds);
const REQUESTS = Number(args.requests);
const CONCURRENCY = Number(args.concurrency);
/** Searches per second, sent on a schedule whatever the answers (open loop); 0: closed loop at CONCURRENCY. */
const RATE = Number(args.rate);
const TOKEN = 'bench-shadow-token';
const QUEUE_PREFIX = `bench-shadow-${randomBytes(3).toString('hex')}`;
const dataDir = join(REPO_ROOT, 'tmp', `bench-shadow-${QUEUE_PREFIX}`);
const logger = createLogger('bench', 'warn');

async function modelDir(family: 'clip' | 'siglip'): Promise<string> {
  if (!args.models) return tinyModelDir(family, 'colour');
  const dir = resolve(args.models, family);
  if (!existsSync(join(dir, 'onnx'))) {
    console.error(`no model at ${dir}: run npx nx run tools:make-bench-models -- --out ${args.models}`);
    process.exit(2);
  }
  return dir;
}

function unitVector(dim: number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => Math.random() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

async function seed(collection: string, family: 'clip' | 'siglip', dim: number): Promise<void> {
  const store = await createVectorStore({ dataDir, logger });
  try {
    await store.ensureCollection(collectionSchema(family, { name: collection, vectorSize: dim }));
    for (let i = 0; i < POINTS; i += 1000) {
      const points = Array.from({ length: Math.min(1000, POINTS - i) }, (_, k) => ({
        assetId: (i + k).toString(16).padStart(32, '0'),
        vector: unitVector(dim),
        payload: { path: `/bench/img-${i + k}.jpg`, category: `cat-${(i + k) % 20}` },
      }));
      await store.upsert(collection, points);
      progress(`seeding ${collection}`, Math.min(POINTS, i + 1000), POINTS, t0);
    }
  } finally {
    await store.close();
  }
}

interface Contender {
  name: string;
  url: string;
  proc: TestProcess;
  lat: number[];
  roundP50: number[];
}

async function startGateway(name: string, env: Record<string, string>, common: Record<string, string>) {
  const port = await freePort();
  const proc = startTsProcess('apps/gateway/src/main.ts', {
    ...common,
    GATEWAY_PORT: String(port),
    LOG_LEVEL: 'warn',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `${name} ready`,
    async () => (await fetch(`${url}/ready`).catch(() => undefined))?.ok === true,
    120_000,
    250,
  );
  return { name, url, proc, lat: [], roundP50: [] } as Contender;
}

let q = 0;
async function round(c: Contender, n: number, record: boolean): Promise<number[]> {
  const lat: number[] = [];
  const one = async () => {
    const query = `${COLOUR_WORDS[q % COLOUR_WORDS.length]} ${(q++).toString(36)} ${randomBytes(3).toString('hex')}`;
    const t = performance.now();
    const res = await fetch(`${c.url}/api/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, limit: 10 }),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${c.name}: HTTP ${res.status}`);
    lat.push(performance.now() - t);
  };
  if (RATE > 0) {
    const start = performance.now();
    const sent: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const wait = start + (i * 1000) / RATE - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sent.push(one());
    }
    await Promise.all(sent);
  } else {
    let next = 0;
    const worker = async () => {
      while (next++ < n) await one();
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  if (record) {
    c.lat.push(...lat);
    c.roundP50.push(median(lat));
  }
  return lat;
}

const shadowSummary = async (c: Contender) =>
  (await (await fetch(`${c.url}/api/v1/admin/shadow`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
    in_flight: number;
    skipped: Record<string, number>;
    pairs: { total: number; errors: number; overlap_at_10: number | null; latency_ms: { shadow: { p50: number } } }[];
  };

const t0 = performance.now();
const procs: TestProcess[] = [];
const redis = testRedis();
try {
  mkdirSync(dataDir, { recursive: true });
  const [clip, siglip] = await Promise.all([
    startServed('clip', { MODEL_DIR: await modelDir('clip') }),
    startServed('siglip', { MODEL_DIR: await modelDir('siglip') }),
  ]);
  procs.push(clip.proc, siglip.proc);
  const [ci, si] = await Promise.all([clip.client.info(), siglip.client.info()]);
  await seed('image_assets', 'clip', ci.embeddingDim);
  await seed('image_assets_siglip', 'siglip', si.embeddingDim);
  const common = {
    CLIP_EMBEDDER_URL: clip.address,
    SIGLIP_EMBEDDER_URL: siglip.address,
    CLIP_EMBEDDING_DIM: String(ci.embeddingDim),
    SIGLIP_EMBEDDING_DIM: String(si.embeddingDim),
    DATA_DIR: dataDir,
    QUEUE_PREFIX,
    ADMIN_TOKEN: TOKEN,
    INGEST_WORKER: 'false',
    RATE_LIMIT_SEARCH_PER_MIN: '0',
  };
  const contenders = [
    await startGateway('shadow off', { SHADOW_PERCENTAGE: '0' }, common),
    await startGateway('shadow 100 %, default budget', { SHADOW_PERCENTAGE: '100' }, common),
    await startGateway(
      'shadow 100 %, no per-second budget',
      { SHADOW_PERCENTAGE: '100', SHADOW_MAX_PER_S: '100000' },
      common,
    ),
  ];
  procs.push(...contenders.map((c) => c.proc));

  console.log(`# Shadow comparison cost — ${new Date().toISOString()}`);
  for (const line of machine(0)) console.log(line);
  console.log(
    `Models: ${args.models ?? 'tiny colour test models'} (CLIP ${ci.embeddingDim}-d, SigLIP ${si.embeddingDim}-d); ${POINTS} points per collection (embedded store); ` +
      `${ROUNDS} rounds × ${REQUESTS} distinct text searches per contender ${RATE > 0 ? `at ${RATE}/s (open loop)` : `at ${CONCURRENCY} concurrent clients (closed loop)`}, rounds alternating\n`,
  );
  for (const c of contenders) await round(c, 30, false);
  // What the warm-up shadowed or skipped is not part of the figures.
  const warm = new Map<Contender, { total: number; skipped: number }>();
  for (const c of contenders) {
    await waitFor('shadow drained', async () => (await shadowSummary(c)).in_flight === 0, 60_000, 20);
    const s = await shadowSummary(c);
    warm.set(c, { total: s.pairs[0]?.total ?? 0, skipped: Object.values(s.skipped).reduce((a, b) => a + b, 0) });
  }
  const started = performance.now();
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order so no contender always follows the same one.
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length]!;
      await round(c, REQUESTS, true);
      await waitFor('shadow drained', async () => (await shadowSummary(c)).in_flight === 0, 60_000, 20);
      progress('rounds', r * contenders.length + k + 1, ROUNDS * contenders.length, started);
    }
  }
  const base = contenders[0]!;
  const rows = [];
  for (const c of contenders) {
    const s = await shadowSummary(c);
    const pair = s.pairs[0];
    rows.push({
      contender: c.name,
      searches: c.lat.length,
      shadowed: (pair?.total ?? 0) - warm.get(c)!.total,
      skipped:
        Object.entries(s.skipped)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 0,
      'p50 ms': median(c.lat),
      'p95 ms': percentile(c.lat, 95),
      'median of round p50s': median(c.roundP50),
      'p50 / off': median(c.lat) / median(base.lat),
      'round-p50 / off': median(c.roundP50) / median(base.roundP50),
      'overlap@10': pair?.overlap_at_10 ?? '—',
      'shadow p50 ms': pair?.latency_ms.shadow.p50 ?? '—',
    });
  }
  printTable(rows);
  const worst = Math.max(...rows.slice(1).map((r) => r['p50 / off']));
  console.log(
    `\nTarget: shadow at 100 % costs the user's p50 < 5 %: worst ratio ${worst.toFixed(3)} → ${worst < 1.05 ? 'met' : 'NOT met'}`,
  );
} finally {
  for (const p of procs.reverse()) await p.stop('SIGTERM').catch(() => undefined);
  await deleteKeys(redis, QUEUE_PREFIX).catch(() => undefined);
  redis.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
}
