// Test and benchmark harness of the re-embedding pipeline: generated photo sets (with broken
// files), a seeded CLIP collection in the real embedded store, the real SigLIP embedder and
// worker processes, and the real Redis under a unique QUEUE_PREFIX.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Redis } from 'ioredis';
import { createLogger } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import { createVectorStore, type VectorStore } from '@image-search/vector-store';
import { EmbedderClient } from '@image-search/embedder-client';
import { ReembedControl, type ReembedStatus } from '@image-search/jobs';
import {
  deleteKeys,
  freePort,
  grpcHealthCheck,
  startTsProcess,
  testEnv,
  testRedis,
  tinyModelDir,
  uniqueName,
  waitFor,
  type TestProcess,
} from '@image-search/testing';

export const CLIP = 'image_assets';
export const SIGLIP = 'image_assets_siglip';

/** One seeded asset: its id, payload, and the failure reason the worker must record (if any). */
export interface SeedAsset {
  assetId: string;
  path: string;
  expectFailure?: string;
}

/** The asset id convention: first 32 hex chars of sha256 of the real absolute path. */
export function assetIdOf(realPath: string): string {
  return createHash('sha256').update(realPath).digest('hex').slice(0, 32);
}

/**
 * Writes `good` small JPEG/PNG photos in category folders under `<dir>/photos`, plus broken
 * assets: a text file named .jpg, an empty file, a missing file, a file outside the allowed root.
 */
export async function makeImageSet(
  dir: string,
  good: number,
  opts: { broken?: boolean; size?: number } = {},
): Promise<{ root: string; assets: SeedAsset[] }> {
  const root = join(dir, 'photos');
  const size = opts.size ?? 48;
  const assets: SeedAsset[] = [];
  const categories = ['beach', 'city', 'forest', 'food'];
  for (const c of categories) await mkdir(join(root, c), { recursive: true });
  const writes: Promise<void>[] = [];
  for (let i = 0; i < good; i++) {
    const file = join(
      root,
      categories[i % categories.length]!,
      `img-${String(i).padStart(5, '0')}.${i % 5 === 0 ? 'png' : 'jpg'}`,
    );
    const bg = { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 };
    const img = sharp({ create: { width: size, height: size, channels: 3, background: bg } });
    writes.push((i % 5 === 0 ? img.png() : img.jpeg()).toFile(file).then(() => undefined));
    if (writes.length >= 32) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  for (let i = 0; i < good; i++) {
    const file = join(
      root,
      categories[i % categories.length]!,
      `img-${String(i).padStart(5, '0')}.${i % 5 === 0 ? 'png' : 'jpg'}`,
    );
    const real = await realpath(file);
    assets.push({ assetId: assetIdOf(real), path: real });
  }
  if (opts.broken !== false) {
    const realRoot = await realpath(root);
    const notImage = join(realRoot, 'food', 'not-an-image.jpg');
    await writeFile(notImage, 'this is a text file, not a JPEG\n'.repeat(10));
    assets.push({
      assetId: assetIdOf(notImage),
      path: notImage,
      expectFailure: 'NOT_AN_IMAGE|CORRUPT_IMAGE|UNSUPPORTED_FORMAT',
    });
    const empty = join(realRoot, 'city', 'empty.jpg');
    await writeFile(empty, '');
    assets.push({ assetId: assetIdOf(empty), path: empty, expectFailure: 'EMPTY_INPUT' });
    const gone = join(realRoot, 'beach', 'deleted-since-ingest.jpg');
    assets.push({ assetId: assetIdOf(gone), path: gone, expectFailure: 'FILE_MISSING' });
    const outsideDir = join(dir, 'outside');
    await mkdir(outsideDir, { recursive: true });
    const outside = join(await realpath(outsideDir), 'secret.jpg');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
      .jpeg()
      .toFile(outside);
    assets.push({ assetId: assetIdOf(outside), path: outside, expectFailure: 'PATH_NOT_ALLOWED' });
  }
  return { root: await realpath(root), assets };
}

/** Random unit vector (CLIP vectors are irrelevant to re-embedding; the store wants valid ones). */
function unitVector(dim: number, seed: number): Float32Array {
  const v = new Float32Array(dim);
  let s = seed + 1;
  let sum = 0;
  for (let i = 0; i < dim; i++) {
    s = (s * 16807) % 2147483647;
    v[i] = s / 2147483647 - 0.5;
    sum += v[i]! * v[i]!;
  }
  const n = Math.sqrt(sum);
  for (let i = 0; i < dim; i++) v[i]! /= n;
  return v;
}

/** Seeds the CLIP collection with the assets (payload per the shared convention). */
export async function seedClip(store: VectorStore, assets: SeedAsset[], dim = 512): Promise<void> {
  await store.ensureCollection(collectionSchema('clip', { name: CLIP, vectorSize: dim }));
  const now = new Date().toISOString();
  for (let i = 0; i < assets.length; i += 500) {
    await store.upsert(
      CLIP,
      assets.slice(i, i + 500).map((a, j) => ({
        assetId: a.assetId,
        vector: unitVector(dim, i + j),
        payload: {
          asset_id: a.assetId,
          path: a.path,
          path_hash: createHash('sha256').update(a.path).digest('hex'),
          file_size: 1,
          file_mtime_ms: 0,
          width: 48,
          height: 48,
          format: a.path.endsWith('.png') ? 'png' : 'jpeg',
          category: basename(dirname(a.path)),
          date_taken: now,
          created_at: now,
        },
      })),
    );
  }
}

/** A running SigLIP embedder app process with the tiny model (or `modelDir`). */
export interface EmbedderProc {
  proc: TestProcess;
  address: string;
  port: number;
  dim: number;
  /** The fingerprint the embedder reports in Info. */
  fingerprint: string;
  restart: () => Promise<void>;
  stop: () => Promise<void>;
}

/** Starts apps/siglip-embedder with the tiny SigLIP model on a free loopback port. */
export async function startSiglipEmbedder(
  opts: { modelDir?: string; env?: Record<string, string>; startTimeoutMs?: number } = {},
): Promise<EmbedderProc> {
  const modelDir = opts.modelDir ?? (await tinyModelDir('siglip', 'colour', 'hf'));
  const port = await freePort();
  const env = {
    EMBEDDER_HOST: '127.0.0.1',
    EMBEDDER_PORT: String(port),
    METRICS_PORT: '0',
    MODEL_DIR: modelDir,
    SIGLIP_EMBEDDING_DIM: '0',
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const address = `127.0.0.1:${port}`;
  const start = async () => {
    const proc = startTsProcess('apps/siglip-embedder/src/main.ts', env);
    await waitFor(
      'SigLIP embedder SERVING',
      async () => (await grpcHealthCheck(address, 'imagesearch.embedder.v1.Embedder')) === 'SERVING',
      opts.startTimeoutMs ?? 90_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${proc.output()}`);
    });
    return proc;
  };
  const e: EmbedderProc = {
    proc: await start(),
    address,
    port,
    dim: 0,
    fingerprint: '',
    restart: async () => {
      e.proc = await start();
    },
    stop: async () => {
      await e.proc.stop('SIGKILL');
    },
  };
  const client = new EmbedderClient({ address });
  const info = await client.info();
  e.dim = info.embeddingDim;
  e.fingerprint = info.fingerprint ?? '';
  client.close();
  return e;
}

/** One test's world: temp folders, its own Redis prefix, the store, a control. */
export class ReembedWorld {
  readonly prefix = uniqueName('reembed');
  redis: Redis = testRedis();
  dir = '';
  dataDir = '';
  store!: VectorStore;
  control!: ReembedControl;
  workers: TestProcess[] = [];

  constructor(private readonly redisUrl?: string) {}

  async init(): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), 'reembed-'));
    this.dataDir = join(this.dir, 'data');
    if (this.redisUrl) {
      this.redis.disconnect();
      const { Redis } = await import('ioredis');
      this.redis = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
      // The restart test stops this Redis on purpose; reconnecting is expected.
      this.redis.on('error', () => undefined);
    }
    this.store = await createVectorStore({ dataDir: this.dataDir, logger: createLogger('test-store', 'warn') });
    this.control = new ReembedControl({
      redis: this.redis,
      prefix: this.prefix,
      store: this.store,
      sourceCollection: CLIP,
      targetCollection: SIGLIP,
    });
    return this;
  }

  /** Starts a worker process against this world. */
  startWorker(embedder: EmbedderProc, root: string, env: Record<string, string> = {}): TestProcess {
    const w = startTsProcess('apps/reembed-worker/src/main.ts', {
      REDIS_URL: this.redisUrl ?? testEnv.redisUrl,
      QUEUE_PREFIX: this.prefix,
      DATA_DIR: this.dataDir,
      CLIP_COLLECTION: CLIP,
      SIGLIP_COLLECTION: SIGLIP,
      SIGLIP_EMBEDDING_DIM: String(embedder.dim),
      ASSET_ROOTS: root,
      SIGLIP_EMBEDDER_URL: embedder.address,
      WORKER_HEALTH_PORT: '0',
      REEMBED_BACKOFF_MS: '200',
      REEMBED_BACKOFF_MAX_MS: '2000',
      REEMBED_LOCK_MS: '3000',
      REEMBED_STALLED_INTERVAL_MS: '1500',
      REEMBED_VERIFY_SAMPLE: '0',
      LOG_LEVEL: 'info',
      QDRANT_URL: '',
      ...env,
    });
    this.workers.push(w);
    return w;
  }

  /** Waits until the run reaches one of `states` (throws with the status and worker output otherwise). */
  async waitForState(states: string[], timeoutMs = 60_000): Promise<ReembedStatus> {
    let last: ReembedStatus | undefined;
    try {
      await waitFor(
        `run state ${states.join('/')}`,
        async () => states.includes((last = await this.control.status()).state),
        timeoutMs,
        200,
      );
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\nlast status: ${JSON.stringify(last)}\nworker output:\n${this.workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`,
      );
    }
    return last!;
  }

  /** All ids of a collection. */
  async ids(collection: string): Promise<Set<string>> {
    const out = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.store.scrollIds(collection, { limit: 1000, cursor });
      page.assetIds.forEach((id) => out.add(id));
      cursor = page.next;
    } while (cursor);
    return out;
  }

  /** Asserts-ready data: SigLIP ids, CLIP ids, and the run's recorded failures. */
  async idAccounting(): Promise<{ clip: Set<string>; siglip: Set<string>; failed: Map<string, string> }> {
    const id = await this.control.runs.currentId();
    const failed = new Map(
      (id ? await this.control.runs.allFailed(id) : []).map((f) => [f.asset_id, f.reason] as const),
    );
    return {
      clip: await this.ids(CLIP),
      siglip: (await this.store.exists(SIGLIP)) ? await this.ids(SIGLIP) : new Set(),
      failed,
    };
  }

  async dispose(): Promise<void> {
    for (const w of this.workers) await w.stop('SIGKILL');
    await this.control?.close().catch(() => undefined);
    await this.store?.close().catch(() => undefined);
    await deleteKeys(this.redis, this.prefix).catch(() => undefined);
    this.redis.disconnect();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** The set difference a \ b. */
export function minus(a: Set<string>, b: Iterable<string>): Set<string> {
  const out = new Set(a);
  for (const x of b) out.delete(x);
  return out;
}

export { startTsProcess, freePort, waitFor };
