// The model lifecycle over the real embedded vector store and the real embedded catalogue (LanceDB in a temp
// DATA_DIR): recording a migration, refusing to retire before a completed and verified one, retiring, the
// grace period, rollback and drop. The last run is passed as tools:reembed status reports it.
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { contentHash, LanceAssetCatalogue } from '@image-search/asset-catalogue';
import { loadModelRegistry, servingPair } from '@image-search/model-registry';
import { createLogger, isAppError } from '@image-search/service-kit';
import { LanceVectorStore } from '@image-search/vector-store';
import { dropModel, recordMigration, retireModel, rollbackModel, type LifecycleDeps } from './model-lifecycle.js';

const CLIP = 'clip-vit-b32-openai';
const SIGLIP = 'siglip-vit-b16-webli';
const FP = `sha256:${'d'.repeat(64)}`;
const ids = Array.from({ length: 3 }, () => randomBytes(16).toString('hex'));
const hash = (i: number) => contentHash(Buffer.from(`img ${i}`));
let work: string;
let store: LanceVectorStore;
let catalogue: LanceAssetCatalogue;
let now = new Date('2026-03-01T00:00:00Z');
let deps: LifecycleDeps;
const registry = loadModelRegistry({
  file: { models: [{ id: 'siglip2-b16-224', family: 'siglip', dim: 8, collection: 'image_assets_siglip2' }] },
});

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(err, 'FAILED_PRECONDITION')) throw new Error(`expected a refusal, got ${String(err)}`);
  return err.message;
}

const fill = async (collection: string, model: string, n = ids.length) => {
  await store.ensureCollection(collectionSchema('siglip', { name: collection, vectorSize: 8 }));
  await store.upsert(
    collection,
    ids.slice(0, n).map((id, i) => ({
      assetId: id,
      vector: Float32Array.from({ length: 8 }, (_, j) => (j === i ? 1 : 0)),
      payload: { path: `/p/${i}.jpg`, model_id: model, fingerprint: FP, content_hash: hash(i) },
    })),
  );
};
const run = (from: string, to: string, state = 'completed', passed = true) => ({
  state,
  from_model: from,
  to_model: to,
  verification: { passed },
});

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifecycle-'));
  store = await LanceVectorStore.open({ dataDir: work, logger: createLogger('t', 'warn') });
  catalogue = await LanceAssetCatalogue.open({ dataDir: work });
  await catalogue.upsert(ids.map((id, i) => ({ assetId: id, path: `/p/${i}.jpg`, contentHash: hash(i) })));
  deps = { registry, catalogue, store, now: () => now };
});
afterAll(async () => {
  await catalogue.close();
  await store.close();
  await rm(work, { recursive: true, force: true });
});

describe('model lifecycle (real embedded store and catalogue)', () => {
  it('serves the registry pair until a migration is recorded; retire refuses before a completed, verified run', async () => {
    expect(servingPair(registry, await catalogue.readModelState())).toMatchObject({ source: 'registry' });
    await fill('image_assets', CLIP);
    await fill('image_assets_siglip', SIGLIP, 2); // one catalogued asset not re-embedded yet
    await recordMigration(deps, CLIP, SIGLIP);
    expect(await refusal(retireModel(deps, CLIP, undefined, 7))).toMatch(/no re-embedding run .* is recorded/);
    expect(await refusal(retireModel(deps, CLIP, run(CLIP, SIGLIP, 'running'), 7))).toMatch(/is running/);
    expect(await refusal(retireModel(deps, CLIP, run(CLIP, SIGLIP, 'failed', false), 7))).toMatch(
      /verification failed/,
    );
    expect(await refusal(retireModel(deps, SIGLIP, run(CLIP, SIGLIP), 7))).toMatch(/not the serving model/);
    // The run says completed, but the new collection misses a catalogued asset now: still refused.
    expect(await refusal(retireModel(deps, CLIP, run(CLIP, SIGLIP), 7))).toMatch(/does not cover the catalogue/);
  });

  it('retires after a verified migration: the new model serves alone, the next migration starts from it', async () => {
    await fill('image_assets_siglip', SIGLIP);
    const r = await retireModel(deps, CLIP, run(CLIP, SIGLIP), 7);
    expect(r.retired).toMatchObject({ model_id: CLIP, replaced_by: SIGLIP, drop_after: '2026-03-08T00:00:00.000Z' });
    const pair = servingPair(registry, await catalogue.readModelState());
    expect(pair).toMatchObject({ source: 'state', retired: [CLIP] });
    expect(pair.from.id).toBe(SIGLIP);
    expect(pair.to).toBeUndefined();
    expect(await refusal(recordMigration(deps, CLIP, 'siglip2-b16-224'))).toMatch(/was retired/);
    await recordMigration(deps, SIGLIP, 'siglip2-b16-224');
    expect(servingPair(registry, await catalogue.readModelState()).to?.id).toBe('siglip2-b16-224');
  });

  it('drop refuses during the grace period and drops after it; a dropped model cannot be rolled back', async () => {
    expect(await refusal(dropModel(deps, CLIP))).toMatch(/grace period until 2026-03-08T00:00:00.000Z/);
    expect(await store.exists('image_assets')).toBe(true);
    expect(await refusal(dropModel(deps, SIGLIP))).toMatch(/is not retired/);
    now = new Date('2026-03-08T00:00:01Z');
    expect(await dropModel(deps, CLIP)).toMatchObject({ dropped_at: '2026-03-08T00:00:01.000Z' });
    expect(await store.exists('image_assets')).toBe(false);
    expect(await refusal(rollbackModel(deps, CLIP))).toMatch(/was dropped/);
  });

  it('rolls back within the grace period: the old model serves again', async () => {
    await fill('image_assets_siglip2', 'siglip2-b16-224');
    await retireModel(deps, SIGLIP, run(SIGLIP, 'siglip2-b16-224'), 7);
    const s = await rollbackModel(deps, SIGLIP);
    expect(s.pair).toEqual({ from: SIGLIP, to: 'siglip2-b16-224' });
    expect(s.retired.map((r) => r.model_id)).toEqual([CLIP]);
  });
});
