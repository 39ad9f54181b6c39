// Integration: the real reembed-worker process, the real siglip-embedder process (tiny SigLIP ONNX
// model in onnxruntime, gRPC on loopback), the real Redis (unique QUEUE_PREFIX, cleaned up) and the
// real embedded vector store (LanceDB) in a temp DATA_DIR. The CLIP collection is seeded directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIP,
  makeImageSet,
  minus,
  ReembedWorld,
  seedClip,
  SIGLIP,
  startSiglipEmbedder,
  type EmbedderProc,
  type SeedAsset,
} from './harness.js';

describe('re-embedding run (real worker, embedder, Redis, store)', () => {
  let embedder: EmbedderProc;
  let world: ReembedWorld;
  let assets: SeedAsset[];
  let root: string;

  beforeAll(async () => {
    [embedder, world] = await Promise.all([startSiglipEmbedder(), new ReembedWorld().init()]);
    ({ root, assets } = await makeImageSet(world.dir, 300));
    await seedClip(world.store, assets);
  });
  afterAll(async () => {
    await world?.dispose();
    await embedder?.stop();
  });

  it('re-embeds every readable image, records each broken one with its reason, and says exactly what is missing', async () => {
    world.startWorker(embedder, root);
    const { started, status } = await world.control.start({ batchSize: 50 });
    expect(started).toBe(true);
    expect(status.state).toBe('planning');
    expect((await world.control.start({ batchSize: 50 })).started).toBe(false);

    const end = await world.waitForState(['completed', 'failed'], 90_000);
    const broken = assets.filter((a) => a.expectFailure);
    // The broken items can never be embedded, so verification fails and names them.
    expect(end.state).toBe('failed');
    expect(end.total).toBe(assets.length);
    expect(end.done).toBe(assets.length - broken.length);
    expect(end.failed).toBe(broken.length);
    expect(end.skipped).toBe(0);
    expect(end.verification?.missing.count).toBe(broken.length);
    expect(end.verification?.missing_recorded_failures).toBe(broken.length);
    expect(end.verification?.extra.count).toBe(0);
    expect(end.verification?.vectors.bad).toBe(0);
    expect(end.verification?.vectors.checked).toBe(assets.length - broken.length);
    expect(end.last_error).toMatch(new RegExp(`${broken.length} id\\(s\\) of ${CLIP} missing from ${SIGLIP}`));

    const acc = await world.idAccounting();
    for (const b of broken) expect(acc.failed.get(b.assetId), b.path).toMatch(new RegExp(`^(${b.expectFailure})$`));
    expect([...acc.siglip].sort()).toEqual([...minus(acc.clip, acc.failed.keys())].sort());

    // Same ids and payload in both collections, re-tagged with the SigLIP model and its embedder's fingerprint.
    const [c] = await world.store.retrieve(CLIP, [assets[0]!.assetId]);
    const [s] = await world.store.retrieve(SIGLIP, [assets[0]!.assetId], { withVectors: true });
    const { model_id, fingerprint, ...rest } = s!.payload;
    const { content_hash, ...same } = rest;
    expect(same).toEqual(c?.payload);
    expect(content_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(model_id).toBe('siglip-vit-b16-webli');
    expect(fingerprint).toBe(embedder.fingerprint);
    expect(s?.vector?.length).toBe(embedder.dim);
  });

  it('retry-failed redoes only the failed items; once they are removed from CLIP, verify passes and the run completes', async () => {
    const { retried } = await world.control.retryFailed();
    const broken = assets.filter((a) => a.expectFailure);
    expect(retried).toBe(broken.length);
    const again = await world.waitForState(['completed', 'failed'], 60_000);
    expect(again.state).toBe('failed');
    expect(again.failed).toBe(broken.length);
    // The operator removes the broken assets from the catalogue, then verifies.
    await world.store.deleteIds(
      CLIP,
      broken.map((b) => b.assetId),
    );
    await world.control.verify();
    const verified = await world.waitForState(['completed', 'failed'], 60_000);
    expect(verified.state).toBe('completed');
    expect(verified.verification?.passed).toBe(true);
    expect(verified.coverage).toBe(1);
    expect(verified.last_error).toBeNull();
  });

  it('--only-missing after deleting points enqueues only the missing ids', async () => {
    const all = [...(await world.ids(SIGLIP))];
    const removed = all.slice(0, 17);
    await world.store.deleteIds(SIGLIP, removed);
    const { started } = await world.control.start({ batchSize: 10, onlyMissing: true });
    expect(started).toBe(true);
    const end = await world.waitForState(['completed', 'failed'], 60_000);
    expect(end.state).toBe('completed');
    expect(end.done).toBe(removed.length);
    expect(end.skipped).toBe(all.length - removed.length);
    expect(end.batches_total).toBe(2);
    const acc = await world.idAccounting();
    expect([...acc.siglip].sort()).toEqual([...acc.clip].sort());
  });

  it('verify reports a planted gap exactly (ids listed, none explained by recorded failures)', async () => {
    const ids = [...(await world.ids(SIGLIP))];
    const gap = ids.slice(5, 8);
    await world.store.deleteIds(SIGLIP, gap);
    await world.control.verify();
    const end = await world.waitForState(['completed', 'failed'], 60_000);
    expect(end.state).toBe('failed');
    expect(end.verification?.counts_equal).toBe(false);
    expect(end.verification?.missing.count).toBe(3);
    expect([...(end.verification?.missing.sample ?? [])].sort()).toEqual([...gap].sort());
    expect(end.verification?.missing_recorded_failures).toBe(0);
    expect(end.last_error).toContain(gap[0]);
  });
});
