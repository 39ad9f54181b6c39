// Real parts: the embedded vector store (LanceDB) and both catalogues' embedded engine in a temp folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { createLogger } from '@image-search/service-kit';
import { LanceVectorStore } from '@image-search/vector-store';
import { verifyAgainstCatalogue } from './catalogue-verify.js';
import { contentHash } from './content-hash.js';
import { LanceAssetCatalogue } from './lance-asset-catalogue.js';
import { newId } from './test/asset-catalogue.contract.js';

const FP = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

describe('verifyAgainstCatalogue (embedded store and catalogue)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalogue-verify-'));
  let store: LanceVectorStore;
  let catalogue: LanceAssetCatalogue;
  const verifyC1 = () =>
    verifyAgainstCatalogue({ store, catalogue, collection: 'c1', modelId: 'm1', expectedFingerprint: FP });
  const ids = Array.from({ length: 6 }, () => newId());
  const hash = (i: number, v = 1) => contentHash(Buffer.from(`file ${i} v${v}`));
  const vector = (i: number) => Float32Array.from({ length: 8 }, (_, j) => (j === i ? 1 : 0.1));
  const point = (i: number, tags: Record<string, unknown>) => ({
    assetId: ids[i]!,
    vector: vector(i),
    payload: { path: `/p/${i}.jpg`, model_id: 'm1', fingerprint: FP, content_hash: hash(i), ...tags },
  });

  beforeAll(async () => {
    store = await LanceVectorStore.open({ dataDir: join(dir, 'vectors'), logger: createLogger('t', 'warn') });
    catalogue = await LanceAssetCatalogue.open({ dataDir: dir });
    await store.ensureCollection(collectionSchema('clip', { name: 'c1', vectorSize: 8 }));
  });
  afterAll(async () => {
    await catalogue.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes when every catalogue asset has a current vector of the expected fingerprint', async () => {
    await catalogue.upsert(
      ids.slice(0, 4).map((id, i) => ({ assetId: id, path: `/p/${i}.jpg`, contentHash: hash(i) })),
    );
    await store.upsert(
      'c1',
      [0, 1, 2, 3].map((i) => point(i, {})),
    );
    const r = await verifyC1();
    expect(r).toMatchObject({ passed: true, catalogue_count: 4, points: 4, coverage: 1, problems: [] });
  });

  it('catches an asset missing from the collection, a vector of another fingerprint, a stale vector and an extra one', async () => {
    // Asset 4 is catalogued but never embedded (it failed in this model); asset 1's file changed; asset 2
    // was written by another build of the model; asset 5 has a vector but is not in the catalogue.
    await catalogue.upsert([
      { assetId: ids[4]!, path: '/p/4.jpg', contentHash: hash(4) },
      { assetId: ids[1]!, path: '/p/1.jpg', contentHash: hash(1, 2) },
    ]);
    await store.upsert('c1', [point(2, { fingerprint: OTHER }), point(5, {})]);
    const r = await verifyC1();
    expect(r.passed).toBe(false);
    expect(r.missing).toEqual({ count: 1, sample: [ids[4]] });
    expect(r.stale).toEqual({ count: 1, sample: [ids[1]] });
    expect(r.wrong_fingerprint).toEqual({ count: 1, sample: [ids[2]] });
    expect(r.extra).toEqual({ count: 1, sample: [ids[5]] });
    expect(r.coverage).toBeCloseTo(2 / 5);
    expect(r.problems).toHaveLength(4);
  });

  it('reports a missing collection as a problem with every catalogue asset missing', async () => {
    const r = await verifyAgainstCatalogue({
      store,
      catalogue,
      collection: 'nope',
      modelId: 'm2',
      expectedFingerprint: undefined,
    });
    expect(r.passed).toBe(false);
    expect(r.missing.count).toBe(5);
    expect(r.problems[0]).toMatch(/does not exist/);
  });
});
