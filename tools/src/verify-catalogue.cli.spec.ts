// tools:verify end to end: the real CLI process (tsx) against the real embedded vector store and the real
// embedded catalogue in a temp DATA_DIR; no embedder runs (the expected fingerprint comes from the collection).
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { contentHash, LanceAssetCatalogue } from '@image-search/asset-catalogue';
import { createLogger } from '@image-search/service-kit';
import { LanceVectorStore } from '@image-search/vector-store';
import { freePort, startTsProcess } from '@image-search/testing';

let work: string;
const FP = `sha256:${'c'.repeat(64)}`;
const ids = Array.from({ length: 4 }, () => randomBytes(16).toString('hex'));
const hash = (i: number, v = 1) => contentHash(Buffer.from(`img ${i} v${v}`));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'verify-cli-'));
  const store = await LanceVectorStore.open({ dataDir: work, logger: createLogger('t', 'warn') });
  const catalogue = await LanceAssetCatalogue.open({ dataDir: work });
  await store.ensureCollection(collectionSchema('clip', { name: 'image_assets', vectorSize: 8 }));
  await catalogue.upsert(ids.map((id, i) => ({ assetId: id, path: `/p/${i}.jpg`, contentHash: hash(i) })));
  await store.upsert(
    'image_assets',
    ids.map((id, i) => ({
      assetId: id,
      vector: Float32Array.from({ length: 8 }, (_, j) => (j === i ? 1 : 0.2)),
      payload: { path: `/p/${i}.jpg`, model_id: 'clip-vit-b32-openai', fingerprint: FP, content_hash: hash(i) },
    })),
  );
  await catalogue.close();
  await store.close();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function run(args: string[]) {
  const nothing = `127.0.0.1:${await freePort()}`;
  const p = startTsProcess(
    'tools/src/verify-catalogue.cli.ts',
    { DATA_DIR: work, QDRANT_URL: '', CATALOGUE_URL: '', CLIP_EMBEDDER_URL: nothing, SIGLIP_EMBEDDER_URL: nothing },
    args,
  );
  return { code: await p.exited, out: p.output() };
}

describe('tools:verify (embedded store and catalogue)', () => {
  it('passes a collection that matches the catalogue, and skips models without a collection', async () => {
    const r = await run([]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/ok {3}clip-vit-b32-openai \(image_assets\): 4 vectors, catalogue 4, coverage 100\.0%/);
    expect(r.out).not.toContain('siglip-vit-b16-webli');
  });

  it('fails with the stale asset named after its file changed, and as JSON', async () => {
    const catalogue = await LanceAssetCatalogue.open({ dataDir: work });
    await catalogue.upsert([{ assetId: ids[2]!, path: '/p/2.jpg', contentHash: hash(2, 2) }]);
    await catalogue.close();
    const r = await run(['--model', 'clip-vit-b32-openai']);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/FAIL clip-vit-b32-openai/);
    expect(r.out).toContain(`stale: ${ids[2]}`);
    const j = await run(['--json']);
    expect(j.code).toBe(1);
    const body = JSON.parse(j.out.slice(j.out.indexOf('{'))) as { reports: { stale: { count: number } }[] };
    expect(body.reports[0]!.stale.count).toBe(1);
  });

  it('refuses an unknown model and bad arguments', async () => {
    const r = await run(['--model', 'nope']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/--model: no registered model 'nope'/);
    expect((await run(['--sample', 'x'])).code).toBe(2);
  });
});
