// Integration: the catalogue, not the source collection, says which assets exist. Real reembed-worker
// process, real siglip-embedder process (tiny SigLIP model), real Redis (unique QUEUE_PREFIX), the real
// embedded store and the real embedded asset catalogue in the same DATA_DIR.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash, LanceAssetCatalogue } from '@image-search/asset-catalogue';
import {
  CLIP,
  makeImageSet,
  ReembedWorld,
  seedClip,
  SIGLIP,
  startSiglipEmbedder,
  type EmbedderProc,
  type SeedAsset,
} from './harness.js';

describe('re-embedding planned from the asset catalogue (real worker, embedder, Redis, store, catalogue)', () => {
  let embedder: EmbedderProc;
  let world: ReembedWorld;
  let catalogue: LanceAssetCatalogue;
  let assets: SeedAsset[];

  beforeAll(async () => {
    [embedder, world] = await Promise.all([startSiglipEmbedder(), new ReembedWorld().init()]);
    const set = await makeImageSet(world.dir, 12, { broken: false });
    assets = set.assets;
    // Two assets failed in CLIP: the catalogue holds them, the CLIP collection does not.
    await seedClip(world.store, assets.slice(2));
    catalogue = await LanceAssetCatalogue.open({ dataDir: world.dataDir });
    await catalogue.upsert(
      await Promise.all(
        assets.map(async (a) => ({
          assetId: a.assetId,
          path: a.path,
          contentHash: contentHash(await readFile(a.path)),
        })),
      ),
    );
    world.startWorker(embedder, set.root);
  });
  afterAll(async () => {
    await catalogue?.close();
    await world?.dispose();
    await embedder?.stop();
  });

  it('re-embeds every catalogued asset, also those that failed in the old model, and verifies against the catalogue', async () => {
    await world.control.start({ batchSize: 5 });
    const end = await world.waitForState(['completed', 'failed'], 90_000);
    expect(end.state, JSON.stringify(end)).toBe('completed');
    expect(await world.store.count(CLIP)).toBe(10);
    expect(await world.store.count(SIGLIP)).toBe(12);
    const [failedInClip] = await world.store.retrieve(SIGLIP, [assets[0]!.assetId]);
    expect(failedInClip?.payload).toMatchObject({ path: assets[0]!.path, model_id: 'siglip-vit-b16-webli' });
    expect(end.verification?.catalogue).toMatchObject({
      catalogue_count: 12,
      passed: true,
      coverage: 1,
      missing: { count: 0 },
      stale: { count: 0 },
    });
  });

  it('verification fails on a stale vector (the file changed), and --only-missing redoes just that one', async () => {
    const changed = assets[5]!;
    await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 1, g: 2, b: 3 } } })
      .png()
      .toFile(changed.path);
    await catalogue.upsert([
      { assetId: changed.assetId, path: changed.path, contentHash: contentHash(await readFile(changed.path)) },
    ]);
    await world.control.verify();
    const failed = await world.waitForState(['completed', 'failed'], 60_000);
    expect(failed.state).toBe('failed');
    expect(failed.verification?.catalogue?.stale).toEqual({ count: 1, sample: [changed.assetId] });
    expect(failed.last_error).toMatch(/older version of the file/);

    await world.control.start({ batchSize: 5, onlyMissing: true });
    const redone = await world.waitForState(['completed', 'failed'], 90_000);
    expect(redone.state, JSON.stringify(redone)).toBe('completed');
    expect(redone).toMatchObject({ done: 1, skipped: 11 });
    expect(redone.verification?.catalogue?.passed).toBe(true);
  });
});
