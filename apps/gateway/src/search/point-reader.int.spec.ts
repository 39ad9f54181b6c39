// Real parts: the embedded engine (LanceDB on a temp data folder); vi.spyOn only counts its calls.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { createLogger } from '@image-search/service-kit';
import { LanceVectorStore } from '@image-search/vector-store';
import { PointReader } from './point-reader.js';

const DIM = 8;
const dataDir = mkdtempSync(join(tmpdir(), 'point-reader-'));
let store: LanceVectorStore;
const vec = (i: number) => Array.from({ length: DIM }, (_, k) => (k === i % DIM ? 1 : 0.1));

beforeAll(async () => {
  store = await LanceVectorStore.open({ dataDir, logger: createLogger('point-reader-test', 'warn') });
  await store.ensureCollection(collectionSchema('clip', { name: 'pr_clip', vectorSize: DIM }));
  await store.upsert(
    'pr_clip',
    Array.from({ length: 40 }, (_, i) => ({
      assetId: `a${i}`,
      vector: vec(i),
      payload: { path: `/p/${i}.jpg`, category: i % 2 ? 'odd' : 'even' },
    })),
  );
});
afterAll(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PointReader', () => {
  it('answers the lookups of one event-loop turn with one store call, each with its own points in order', async () => {
    const reader = new PointReader(store);
    const spy = vi.spyOn(store, 'retrieve');
    const asks = Array.from({ length: 20 }, (_, i) => reader.get('pr_clip', [`a${i}`, `a${i + 20}`, 'nope']));
    const got = await Promise.all(asks);
    expect(spy).toHaveBeenCalledTimes(1);
    got.forEach((pts, i) => expect(pts.map((p) => p.assetId)).toEqual([`a${i}`, `a${i + 20}`]));
    expect(got[3]![0]!.payload.path).toBe('/p/3.jpg');
    // Vectors are a separate batch (the other lookups do not pay for reading them).
    const [withV, without] = await Promise.all([
      reader.get('pr_clip', ['a1'], { withVectors: true }),
      reader.get('pr_clip', ['a2']),
    ]);
    expect(withV[0]!.vector).toBeInstanceOf(Float32Array);
    expect(without[0]!.vector).toBeUndefined();
    spy.mockRestore();
  });

  it('splits batches at the cap, and sees a write made before the lookup', async () => {
    const reader = new PointReader(store, 5);
    const spy = vi.spyOn(store, 'retrieve');
    const got = await Promise.all(Array.from({ length: 12 }, (_, i) => reader.get('pr_clip', [`a${i}`])));
    expect(spy.mock.calls.length).toBe(3);
    expect(got.map((g) => g[0]!.assetId)).toEqual(Array.from({ length: 12 }, (_, i) => `a${i}`));
    spy.mockRestore();
    await store.upsert('pr_clip', [{ assetId: 'a0', vector: vec(0), payload: { path: '/p/edited.jpg' } }]);
    expect((await reader.get('pr_clip', ['a0']))[0]!.payload.path).toBe('/p/edited.jpg');
  });

  it('runs at most maxInFlight queries at once; what arrives meanwhile shares the next query, and sees earlier writes', async () => {
    const reader = new PointReader(store, 256, 1);
    const spy = vi.spyOn(store, 'retrieve');
    const first = reader.get('pr_clip', ['a1']);
    await new Promise((r) => setImmediate(r));
    expect(spy).toHaveBeenCalledTimes(1);
    // The first query is in flight: these wait, then go together.
    await store.upsert('pr_clip', [{ assetId: 'a5', vector: vec(5), payload: { path: '/p/5-edited.jpg' } }]);
    const later = await Promise.all([reader.get('pr_clip', ['a5']), reader.get('pr_clip', ['a6', 'a7'])]);
    await first;
    expect(spy).toHaveBeenCalledTimes(2);
    expect(later[0]![0]!.payload.path).toBe('/p/5-edited.jpg');
    expect(later[1]!.map((p) => p.assetId)).toEqual(['a6', 'a7']);
    spy.mockRestore();
  });

  it('passes a missing collection to every caller as NOT_FOUND, or as empty with getOrEmpty', async () => {
    const reader = new PointReader(store);
    const [a, b] = await Promise.allSettled([reader.get('pr_missing', ['x']), reader.get('pr_missing', ['y'])]);
    expect(a).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND' } });
    expect(b).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND' } });
    expect(await reader.getOrEmpty('pr_missing', ['x'])).toEqual([]);
  });
});
