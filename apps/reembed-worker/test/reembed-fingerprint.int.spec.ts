// Integration: the real reembed-worker process, the real siglip-embedder process (tiny SigLIP model),
// the real Redis (unique QUEUE_PREFIX) and the real embedded store. The target collection already
// holds a vector written by another model version (another fingerprint): the worker must not add to it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { makeImageSet, ReembedWorld, seedClip, SIGLIP, startSiglipEmbedder, type EmbedderProc } from './harness.js';

describe('re-embedding into a collection of another fingerprint (real worker, embedder, Redis, store)', () => {
  let embedder: EmbedderProc;
  let world: ReembedWorld;
  let root: string;
  const other = `sha256:${'0'.repeat(64)}`;

  beforeAll(async () => {
    [embedder, world] = await Promise.all([startSiglipEmbedder(), new ReembedWorld().init()]);
    const set = await makeImageSet(world.dir, 12, { broken: false });
    root = set.root;
    await seedClip(world.store, set.assets);
    await world.store.ensureCollection(collectionSchema('siglip', { name: SIGLIP, vectorSize: embedder.dim }));
    const old = set.assets[0]!;
    const vector = new Float32Array(embedder.dim).fill(1 / Math.sqrt(embedder.dim));
    await world.store.upsert(SIGLIP, [
      {
        assetId: old.assetId,
        vector,
        payload: { path: old.path, model_id: 'siglip-vit-b16-webli', fingerprint: other },
      },
    ]);
  });
  afterAll(async () => {
    await world?.dispose();
    await embedder?.stop();
  });

  it('refuses to write: every batch fails naming both fingerprints, and the collection is left as it was', async () => {
    const worker = world.startWorker(embedder, root, { REEMBED_ATTEMPTS: '1' });
    await world.control.start({ batchSize: 4 });
    const end = await world.waitForState(['completed', 'failed'], 90_000);
    expect(end.state).toBe('failed');
    // Every asset but the one already there failed for this reason; none was written.
    expect(end.failed).toBe(11);
    expect(end.failed_sample[0]?.message).toMatch(/refusing to write to collection 'image_assets_siglip'/);
    expect(await world.store.count(SIGLIP)).toBe(1);
    expect(worker.output()).toMatch(/refusing to write to collection 'image_assets_siglip'/);
    expect(worker.output()).toContain(embedder.fingerprint.slice(0, 19));
    expect(worker.output()).toContain(other.slice(0, 19));
  });
});
