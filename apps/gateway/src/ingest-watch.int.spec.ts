// Integration: watch mode (INGEST_WATCH=true). REAL @parcel/watcher on a temp folder, REAL Redis +
// BullMQ ingestion, the REAL embedded store and catalogue, thumbnails on disk; in-process fake embedders.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@image-search/testing';
import { AppFixture } from '../test/app-fixture.js';
import type { RunningGateway } from '../test/test-gateway.js';
import { assetIdOf } from './ingest/ingest-batch.js';
import { commonFolder } from './ingest/ingest-watcher.js';

const fx = new AppFixture();
let gw: RunningGateway;
const catalogued = () => gw.gw.deps.catalogue.count();

beforeAll(async () => {
  // The fixture's photos ingested first, by hand; the watching gateway then follows changes.
  await fx.setUp({ ingest: true });
  await fx.gw.close();
  gw = await fx.start({
    INGEST_WATCH: 'true',
    INGEST_WATCH_DEBOUNCE_MS: '300',
    INGEST_WATCH_MAX_WAIT_MS: '2000',
    INGEST_BATCH_SIZE: '64',
  });
  fx.gw = gw;
  // Let the backend's subscription settle before the first change.
  await new Promise((r) => setTimeout(r, 300));
}, 60_000);
// The fixture's tearDown closes the watching gateway (fx.gw), once.
afterAll(() => fx.tearDown());

describe('watch mode (real watcher, Redis, store)', () => {
  it('picks up a new file within seconds', async () => {
    const t0 = Date.now();
    await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 240, g: 10, b: 10 } } })
      .png()
      .toFile(join(fx.photos, 'red', 'new.png'));
    const id = assetIdOf(join(fx.photos, 'red', 'new.png'));
    await waitFor(
      'the new file in the catalogue',
      async () => (await gw.gw.deps.catalogue.get([id])).length === 1,
      15_000,
      100,
    );
    console.log(`[watch] new file catalogued after ${Date.now() - t0} ms`);
  });

  it('survives a burst of 1500 files with a handful of rescans, then a folder deleted at once', async () => {
    const before = await catalogued();
    const rescans = gw.gw.watcher!.rescans;
    const burst = join(fx.photos, 'burst');
    const variants = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 60 * i, g: 100, b: 200 } } })
          .png()
          .toBuffer(),
      ),
    );
    const t0 = Date.now();
    for (let d = 0; d < 15; d++) {
      mkdirSync(join(burst, `d${d}`), { recursive: true });
      for (let i = 0; i < 100; i++) writeFileSync(join(burst, `d${d}`, `f${i}.png`), variants[i % 4]!);
    }
    await waitFor('1500 files catalogued', async () => (await catalogued()) === before + 1500, 180_000, 250);
    const took = Date.now() - t0;
    const used = gw.gw.watcher!.rescans - rescans;
    console.log(`[watch] 1500-file burst catalogued after ${took} ms with ${used} rescan(s)`);
    expect(used).toBeLessThanOrEqual(10);
    // The catalogue is written before each batch's vectors: the last batch's vectors follow.
    await waitFor('1500 vectors', async () => (await gw.gw.deps.store.count('clip_t')) === before + 1500, 30_000, 100);
    rmSync(burst, { recursive: true, force: true });
    await waitFor('the deleted folder removed', async () => (await catalogued()) === before, 60_000, 250);
    // Removal takes the catalogue first, then each collection (AssetRemover): the vectors follow.
    await waitFor('its vectors removed', async () => (await gw.gw.deps.store.count('clip_t')) === before, 30_000, 100);
  }, 300_000);
});

describe('commonFolder', () => {
  it('is the deepest folder holding every change, never above the root', () => {
    expect(commonFolder('/r', ['/r/a/b', '/r/a/c'])).toBe('/r/a');
    expect(commonFolder('/r', ['/r/a/b', '/r/x'])).toBe('/r');
    expect(commonFolder('/r', ['/r/a/b'])).toBe('/r/a/b');
    expect(commonFolder('/r', ['/'])).toBe('/r');
    expect(commonFolder('/r', ['/rx/a'])).toBe('/r');
  });
});
