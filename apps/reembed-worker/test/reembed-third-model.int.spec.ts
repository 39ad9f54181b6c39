// Integration: a third model added by configuration alone (a registry file naming it and the pair), migrated
// to with the same worker and control. Real reembed-worker process, real siglip-embedder process serving the
// tiny random SigLIP model as "colour-v3", real Redis (unique QUEUE_PREFIX) and the real embedded store.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReembedControl } from '@image-search/jobs';
import { tinyModelDir } from '@image-search/testing';
import { CLIP, makeImageSet, ReembedWorld, seedClip, startSiglipEmbedder, type EmbedderProc } from './harness.js';

const THIRD = 'image_assets_colour_v3';

describe('migrating to a third registered model (real worker, embedder, Redis, store)', () => {
  let embedder: EmbedderProc;
  let world: ReembedWorld;
  let root: string;
  let registryFile: string;
  let count = 0;

  beforeAll(async () => {
    [embedder, world] = await Promise.all([
      startSiglipEmbedder({ modelDir: await tinyModelDir('siglip', 'random', 'hf') }),
      new ReembedWorld().init(),
    ]);
    const set = await makeImageSet(world.dir, 20, { broken: false });
    root = set.root;
    count = set.assets.length;
    await seedClip(world.store, set.assets);
    registryFile = join(world.dir, 'models.yaml');
    await writeFile(
      registryFile,
      [
        'models:',
        `  - { id: colour-v3, family: siglip, dim: ${embedder.dim}, collection: ${THIRD}, embedder: "${embedder.address}" }`,
        'rollout: { from: clip-vit-b32-openai, to: colour-v3 }',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await world?.dispose();
    await embedder?.stop();
  });

  it('re-embeds CLIP into the new model collection, tagged with its id and fingerprint, and verifies', async () => {
    // SIGLIP_EMBEDDER_URL points nowhere: the worker must take the target's embedder from the registry.
    world.startWorker(embedder, root, { MODEL_REGISTRY_FILE: registryFile, SIGLIP_EMBEDDER_URL: '127.0.0.1:1' });
    const control = new ReembedControl({
      redis: world.redis,
      prefix: world.prefix,
      store: world.store,
      sourceCollection: CLIP,
      targetCollection: THIRD,
      models: { from: 'clip-vit-b32-openai', to: 'colour-v3' },
    });
    try {
      await control.start({ batchSize: 8 });
      let end = await control.status();
      for (let i = 0; i < 450 && !['completed', 'failed'].includes(end.state); i++) {
        await new Promise((r) => setTimeout(r, 200));
        end = await control.status();
      }
      expect(end.state, JSON.stringify(end)).toBe('completed');
      expect(end).toMatchObject({ from_model: 'clip-vit-b32-openai', to_model: 'colour-v3', done: count });
      expect(await world.store.count(THIRD)).toBe(count);
      const [p] = await world.store.retrieve(THIRD, [(await world.store.scrollIds(THIRD, { limit: 1 })).assetIds[0]!]);
      expect(p?.payload).toMatchObject({ model_id: 'colour-v3', fingerprint: embedder.fingerprint });
    } finally {
      await control.close();
    }
  });

  it('a run naming a model this worker does not know fails at planning, naming it', async () => {
    const unknown = new ReembedControl({
      redis: world.redis,
      prefix: world.prefix,
      store: world.store,
      sourceCollection: CLIP,
      targetCollection: 'image_assets_nope',
      models: { from: 'clip-vit-b32-openai', to: 'nope-v1' },
    });
    try {
      await unknown.start({ batchSize: 8 });
      const end = await world.waitForState(['completed', 'failed'], 60_000);
      expect(end.state).toBe('failed');
      expect(end.last_error).toMatch(/migrates to 'nope-v1', which is not a registered model here/);
      expect(await world.store.exists('image_assets_nope')).toBe(false);
    } finally {
      await unknown.close();
    }
  });
});
