// Real parts: both embedder apps as processes (onnxruntime, tiny colour models built by libs/model-builder;
// the SigLIP one deliberately degraded with noise on its text weights), the embedded vector store and
// catalogue (LanceDB) in a temp folder, and tools:evaluate run as a process against them.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { EmbedderClient } from '@image-search/embedder-client';
import { createVectorStore, type VectorStore } from '@image-search/vector-store';
import { createAssetCatalogue } from '@image-search/asset-catalogue';
import { COLOUR_WORDS, TINY_EMBEDDING_DIM } from '@image-search/model-builder';
import { createLogger } from '@image-search/service-kit';
import { startEmbedderProcess, startTsProcess, type RunningEmbedder } from '@image-search/testing';
import { writeSampleImages } from '../sample-images/sample-images.js';
import type { EvaluationResult } from './run-evaluation.js';

const CLIP = 'clip-vit-b32-openai';
const SIGLIP = 'siglip-vit-b16-webli';
/** Noise on the degraded model's token weights (a colour direction has norm 1). */
const DEGRADED_NOISE = 1.0;

let dir: string;
let images: string;
let clip: RunningEmbedder;
let siglip: RunningEmbedder;
let env: Record<string, string>;

/** The gateway's asset id of a real path (sha256, 32 hex), as ingest assigns it. */
const assetIdOf = (path: string) => createHash('sha256').update(path).digest('hex').slice(0, 32);

/** Embeds every sample image with one embedder and stores it in that model's collection (what ingest writes). */
async function fill(store: VectorStore, addr: string, family: 'clip' | 'siglip', files: string[]): Promise<void> {
  const client = new EmbedderClient({ address: addr, defaultDeadlineMs: 60_000 });
  try {
    const collection = family === 'clip' ? 'image_assets' : 'image_assets_siglip';
    await store.ensureCollection(collectionSchema(family, { vectorSize: TINY_EMBEDDING_DIM[family] }));
    const results = await client.embedImages(await Promise.all(files.map(async (f) => ({ data: await readFile(f) }))));
    await store.upsert(
      collection,
      results.map((r, i) => {
        if (!r.ok) throw new Error(`${files[i]}: ${r.message}`);
        return { assetId: assetIdOf(files[i]!), vector: r.vector, payload: { path: files[i]! } };
      }),
    );
  } finally {
    client.close();
  }
}

async function runEvaluate(args: string[]): Promise<{ code: number | string; out: string }> {
  const p = startTsProcess('tools/src/evaluate.cli.ts', env, args);
  const code = await p.exited;
  return { code, out: p.output() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evaluate-int-'));
  images = join(dir, 'library');
  [clip, siglip] = await Promise.all([
    startEmbedderProcess('clip'),
    startEmbedderProcess('siglip', { weightNoise: DEGRADED_NOISE }),
  ]);
  const { files } = await writeSampleImages(images);
  const dataDir = join(dir, 'data');
  const store = await createVectorStore({ dataDir, logger: createLogger('evaluate-int', 'warn') });
  const catalogue = await createAssetCatalogue({ dataDir });
  try {
    await fill(store, clip.addr, 'clip', files);
    await fill(store, siglip.addr, 'siglip', files);
    await catalogue.upsert(
      files.map((f) => ({ assetId: assetIdOf(f), path: f, contentHash: `sha256:${'0'.repeat(64)}` })),
    );
  } finally {
    await catalogue.close();
    await store.close();
  }
  env = {
    DATA_DIR: dataDir,
    CLIP_EMBEDDER_URL: clip.addr,
    SIGLIP_EMBEDDER_URL: siglip.addr,
    CLIP_EMBEDDING_DIM: String(TINY_EMBEDDING_DIM.clip),
    SIGLIP_EMBEDDING_DIM: String(TINY_EMBEDDING_DIM.siglip),
    QDRANT_URL: '',
    CATALOGUE_URL: '',
    MODEL_REGISTRY_FILE: '',
  };
}, 180_000);

afterAll(async () => {
  await Promise.all([clip?.proc.stop(), siglip?.proc.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Generated judgments: for each colour word, the word and a phrase, relevant = its three sample pictures. */
function colourJudgments(): string {
  const lines = COLOUR_WORDS.flatMap((c) => {
    const relevant = [`photos/${c}-photo.jpg`, `gradients/${c}-gradient.png`, `shapes/${c}-shapes.webp`];
    return [
      { query: c, relevant, slice: 'word' },
      { query: `a ${c} picture`, relevant, slice: 'phrase' },
    ];
  });
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

describe('tools:evaluate against real embedders and the embedded store', () => {
  it('computes exactly the hand-computed metrics for the good model and ranks the degraded one below it, significantly', async () => {
    const judgments = join(dir, 'colours.jsonl');
    await writeFile(judgments, colourJudgments());
    const jsonOut = join(dir, 'out.json');
    const reportDir = join(dir, 'report');
    const { code, out } = await runEvaluate(['--judgments', judgments, '--json', jsonOut, '--report', reportDir]);
    expect(code, out).toBe(0);
    const r = JSON.parse(await readFile(jsonOut, 'utf8')) as EvaluationResult;
    expect(r.queries).toBe(26);
    expect(Object.keys(r.models)).toEqual([CLIP, SIGLIP]);

    // Hand computation for the good colour model: each colour's three pictures are its first three hits
    // (checked below through the same embedder and store), so per query recall@1 = 1/3, recall@5 =
    // recall@10 = 1, MRR = 1 and nDCG@10 = 1, and the means over the 26 queries are the same.
    const store = await createVectorStore({ dataDir: env['DATA_DIR']!, logger: createLogger('evaluate-int', 'warn') });
    const client = new EmbedderClient({ address: clip.addr });
    try {
      for (const c of COLOUR_WORDS)
        for (const q of [c, `a ${c} picture`]) {
          const [v] = await client.embedTexts([q]);
          if (!v?.ok) throw new Error('embed failed');
          const hits = await store.search('image_assets', { vector: v.vector, limit: 3 });
          const colours = hits.map(
            (h) =>
              relative(images, h.payload.path as string)
                .split('/')[1]!
                .split('-')[0],
          );
          expect(colours, q).toEqual([c, c, c]);
        }
    } finally {
      client.close();
      await store.close();
    }
    const good = r.models[CLIP]!;
    expect(good['recall@1']).toBeCloseTo(1 / 3, 12);
    expect(good['recall@5']).toBe(1);
    expect(good['recall@10']).toBe(1);
    expect(good.mrr).toBe(1);
    expect(good['ndcg@10']).toBeCloseTo(1, 12);
    expect(good.zero_result_rate).toBe(0);
    expect(good.ci95['mrr']).toEqual([1, 1]);
    expect(good.latency_ms.p50).toBeGreaterThan(0);
    expect(good.latency_ms.p95).toBeGreaterThanOrEqual(good.latency_ms.p50);
    expect(r.slices['word']!.queries).toBe(13);
    expect(r.slices['word']!.models[CLIP]!.mrr).toBe(1);

    // The degraded model (same architecture, noisy text weights) is ranked below, significantly.
    const bad = r.models[SIGLIP]!;
    expect(bad['ndcg@10']).toBeLessThan(good['ndcg@10']);
    const d = r.difference[`${SIGLIP} vs ${CLIP}`]!;
    expect(d['ndcg@10'].mean).toBeLessThan(0);
    expect(d['ndcg@10'].ci95[1]).toBeLessThan(0);
    expect(d['ndcg@10'].significant).toBe(true);
    expect(d['ndcg@10'].p_value).toBeLessThan(0.05);

    expect(out).toMatch(new RegExp(`${SIGLIP} vs ${CLIP}[\\s\\S]*ndcg@10[^\\n]*${CLIP} better`));
    const md = await readFile(join(reportDir, 'report.md'), 'utf8');
    expect(md).toContain(`**${CLIP} is better** than ${SIGLIP} on nDCG@10`);
    expect(await readFile(join(reportDir, 'chart.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  }, 240_000);

  it('weak labels from folders run; a bad judgments file is refused naming the line', async () => {
    const folders = await runEvaluate(['--from-folders', '--model', CLIP, '--iterations', '200']);
    expect(folders.code, folders.out).toBe(0);
    expect(folders.out).toMatch(/3 queries/);
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"query":"red","relevant":["photos/red-photo.jpg"]}\n{"query":"","relevant":["x"]}\n');
    const refused = await runEvaluate(['--judgments', bad]);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/bad\.jsonl line 2: query: must not be empty/);
    const usage = await runEvaluate(['--model', CLIP]);
    expect(usage.code).toBe(2);
    expect(usage.out).toMatch(/give exactly one of --judgments, --coco or --from-folders/);
  }, 120_000);
});
