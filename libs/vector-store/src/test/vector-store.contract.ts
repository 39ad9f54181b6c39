import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError, type ErrorCode } from '@image-search/service-kit';
import { collectionSchema } from '@image-search/collection-schema';
import type { VectorStore } from '../vector-store.port.js';
import { verifyCollection } from '../verify-collection.js';
import { DIM, cosine, makePoints, normalized, rng, testSchema, unitVector } from './contract-data.js';

/** Expects `p` to reject with an AppError of `code` whose message matches `message`. */
export async function expectAppError(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeDefined();
  if (!isAppError(err)) throw err;
  expect(err.code).toBe(code);
  if (message) expect(err.message).toMatch(message);
}

/**
 * The behaviour every VectorStore adapter must show, identically: run against the embedded engine
 * always and against Qdrant when QDRANT_URL is set.
 */
export function vectorStoreContract(label: string, open: () => Promise<VectorStore>): void {
  describe(`${label}: vector store contract`, () => {
    let store: VectorStore;
    const created: string[] = [];
    const fresh = async (tag: string, n = 0, seed = 1) => {
      const schema = testSchema(tag);
      created.push(schema.name);
      await store.ensureCollection(schema);
      if (n) await store.upsert(schema.name, makePoints(n, seed));
      return schema;
    };

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      for (const c of created) await store.dropCollection(c).catch(() => undefined);
      await store.close();
    });

    it('creates a collection once and reports its configuration (point count, not vectors_count)', async () => {
      const schema = testSchema('create');
      created.push(schema.name);
      expect(await store.exists(schema.name)).toBe(false);
      const first = await store.ensureCollection(schema);
      expect(first.created).toBe(true);
      const again = await store.ensureCollection(schema);
      expect(again.created).toBe(false);
      expect(again.info).toMatchObject({
        name: schema.name,
        status: 'green',
        pointCount: 0,
        vectorSize: DIM,
        distance: 'Cosine',
        quantization: { type: 'int8', quantile: 0.99 },
        hnsw: { m: 16, efConstruct: 100 },
      });
      expect(await store.exists(schema.name)).toBe(true);
    });

    it('refuses an existing collection that differs from the schema, naming each difference', async () => {
      const schema = await fresh('mismatch');
      await expectAppError(
        store.ensureCollection({ ...schema, vectorSize: DIM * 2, hnsw: { m: 32, efConstruct: 100 } }),
        'SCHEMA_MISMATCH',
        /vector size is 16, schema expects 32[\s\S]*hnsw m is 16, schema expects 32/,
      );
    });

    it('upserts idempotently and retrieves exact vectors and payloads, with and without vectors', async () => {
      const { name } = await fresh('upsert');
      const pts = makePoints(50);
      await store.upsert(name, pts);
      await store.upsert(name, pts);
      expect(await store.count(name)).toBe(50);
      const got = await store.retrieve(name, ['asset-3', 'nope', 'asset-7'], { withVectors: true });
      expect(got.map((p) => p.assetId)).toEqual(['asset-3', 'asset-7']);
      expect(got[0]!.payload).toEqual({ ...pts[3]!.payload, asset_id: 'asset-3' });
      // Stored normalised: Qdrant re-normalises in float32 on its side, so allow the last float32 bit.
      const want = normalized(pts[3]!.vector);
      expect(got[0]!.vector).toHaveLength(DIM);
      got[0]!.vector!.forEach((x, i) => expect(Math.abs(x - want[i]!)).toBeLessThan(1e-6));
      const noVec = await store.retrieve(name, ['asset-3']);
      expect(noVec[0]!.vector).toBeUndefined();
      // An upsert of an existing id replaces vector and payload.
      await store.upsert(name, [{ assetId: 'asset-3', vector: pts[9]!.vector, payload: { category: 'moved' } }]);
      const [moved] = await store.retrieve(name, ['asset-3'], { withVectors: true });
      expect(moved!.payload).toEqual({ category: 'moved', asset_id: 'asset-3' });
      expect(cosine(moved!.vector!, pts[9]!.vector)).toBeCloseTo(1, 5);
      expect(await store.count(name)).toBe(50);
    });

    it('scores by cosine similarity, higher is closer, with limit, offset and a minimum score', async () => {
      const { name } = await fresh('cosine');
      const e = (i: number) => Float32Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0));
      const a = Float32Array.from({ length: DIM }, (_, j) => (j === 0 ? 3 : j === 1 ? 4 : 0));
      await store.upsert(name, [
        { assetId: 'same', vector: e(0).map((x) => x * 5), payload: {} },
        { assetId: 'diag', vector: a, payload: {} },
        { assetId: 'ortho', vector: e(2), payload: {} },
        { assetId: 'opposite', vector: e(0).map((x) => -x), payload: {} },
      ]);
      const hits = await store.search(name, { vector: e(0), limit: 10 });
      expect(hits.map((h) => h.assetId)).toEqual(['same', 'diag', 'ortho', 'opposite']);
      expect(hits.map((h) => h.score)).toEqual([
        expect.closeTo(1, 5),
        expect.closeTo(0.6, 5),
        expect.closeTo(0, 5),
        expect.closeTo(-1, 5),
      ]);
      expect(hits[0]!.payload.asset_id).toBe('same');
      expect((await store.search(name, { vector: e(0), limit: 2, offset: 1 })).map((h) => h.assetId)).toEqual([
        'diag',
        'ortho',
      ]);
      expect((await store.search(name, { vector: e(0), limit: 10, minScore: 0.5 })).map((h) => h.assetId)).toEqual([
        'same',
        'diag',
      ]);
    });

    it('finds the exact nearest neighbours', async () => {
      const { name } = await fresh('nn', 300, 7);
      const pts = makePoints(300, 7);
      const rand = rng(99);
      for (let q = 0; q < 5; q++) {
        const query = unitVector(rand);
        const truth = pts
          .map((p) => ({ id: p.assetId, s: cosine(query, p.vector) }))
          .sort((x, y) => y.s - x.s)
          .slice(0, 10);
        for (const exact of [true, false]) {
          const hits = await store.search(name, { vector: query, limit: 10, exact });
          expect(hits.map((h) => h.assetId)).toEqual(truth.map((t) => t.id));
          hits.forEach((h, i) => expect(h.score).toBeCloseTo(truth[i]!.s, 4));
        }
      }
    });

    it('filters on payload: match, any, numeric and date ranges, must_not (missing field counts as not matching)', async () => {
      const { name } = await fresh('filter', 40);
      await store.upsert(name, [{ assetId: 'bare', vector: unitVector(rng(5)), payload: {} }]);
      const q = { vector: unitVector(rng(3)), limit: 100 };
      const ids = async (
        filter: Parameters<VectorStore['count']>[1] extends infer O
          ? O extends { filter?: infer F }
            ? F
            : never
          : never,
      ) => (await store.search(name, { ...q, filter })).map((h) => h.assetId).sort();
      const cats = (
        await store.retrieve(
          name,
          Array.from({ length: 40 }, (_, i) => `asset-${i}`),
        )
      ).reduce<Record<string, string[]>>((m, p) => ((m[String(p.payload.category)] ??= []).push(p.assetId), m), {});
      expect(await ids({ must: [{ key: 'category', match: { value: "o'hare" } }] })).toEqual(cats["o'hare"]!.sort());
      expect(await ids({ must: [{ key: 'category', match: { any: ['beach', 'city'] } }] })).toEqual(
        [...cats['beach']!, ...cats['city']!].sort(),
      );
      expect(await ids({ must: [{ key: 'width', range: { gte: 130, lt: 135 } }] })).toEqual([
        'asset-30',
        'asset-31',
        'asset-32',
        'asset-33',
        'asset-34',
      ]);
      expect(await ids({ must: [{ key: 'date_taken', range: { gte: '2024-01-27T00:00:00Z' } }] })).toEqual(
        ['asset-26', 'asset-27'].sort(),
      );
      expect(await ids({ must: [{ key: 'date_taken', range: { lt: '2024-01-02T00:00:00+00:00' } }] })).toEqual([
        'asset-0',
        'asset-28',
      ]);
      const notBeach = await ids({ must_not: [{ key: 'category', match: { value: 'beach' } }] });
      expect(notBeach).toContain('bare');
      expect(notBeach).toHaveLength(41 - cats['beach']!.length);
      expect(await store.count(name, { filter: { must: [{ key: 'category', match: { value: 'city' } }] } })).toBe(
        cats['city']!.length,
      );
      expect(await store.count(name, { filter: { must: [{ key: 'asset_id', match: { value: 'asset-5' } }] } })).toBe(1);
    });

    it('scrolls every id exactly once in pages, optionally filtered', async () => {
      const { name } = await fresh('scroll', 0);
      for (let b = 0; b < 5; b++)
        await store.upsert(
          name,
          makePoints(25, 1).map((p, i) => ({ ...p, assetId: `s-${b * 25 + i}` })),
        );
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.scrollIds(name, { limit: 30, ...(cursor ? { cursor } : {}) });
        seen.push(...page.assetIds);
        cursor = page.next;
        pages++;
      } while (cursor && pages < 20);
      expect(seen).toHaveLength(125);
      expect(new Set(seen).size).toBe(125);
      const beach = await store.scrollIds(name, {
        limit: 1000,
        filter: { must: [{ key: 'category', match: { value: 'beach' } }] },
      });
      expect(beach.assetIds.length).toBe(
        await store.count(name, { filter: { must: [{ key: 'category', match: { value: 'beach' } }] } }),
      );
      expect(beach.next).toBeUndefined();
      // withPayload: the same page with each point's payload, as retrieve gives it; a later write is not in
      // the page of an earlier cursor, and the first page after the write shows it.
      const first = await store.scrollIds(name, { limit: 10, withPayload: true });
      expect(first.points!.map((p) => p.assetId)).toEqual(first.assetIds);
      expect(first.points).toEqual(await store.retrieve(name, first.assetIds));
      const id = first.assetIds[3]!;
      const [before] = await store.retrieve(name, [id], { withVectors: true });
      await store.upsert(name, [
        { assetId: id, vector: before!.vector!, payload: { ...before!.payload, width: 4242 } },
      ]);
      const again = await store.scrollIds(name, { limit: 125, withPayload: true });
      expect(again.points!.find((p) => p.assetId === id)!.payload.width).toBe(4242);
    });

    it('deletes by ids and by filter, and refuses an empty delete filter', async () => {
      const { name } = await fresh('delete', 20);
      await store.deleteIds(name, ['asset-1', 'asset-2', 'never-existed']);
      expect(await store.count(name)).toBe(18);
      expect(await store.retrieve(name, ['asset-1'])).toEqual([]);
      await store.deleteByFilter(name, { must: [{ key: 'category', match: { value: 'beach' } }] });
      expect(await store.count(name, { filter: { must: [{ key: 'category', match: { value: 'beach' } }] } })).toBe(0);
      await expectAppError(store.deleteByFilter(name, {}), 'INVALID_ARGUMENT', /non-empty filter/);
      expect(await store.count(name)).toBe(18 - 5);
    });

    it('tells which ids one collection has and the other lacks', async () => {
      const a = await fresh('diffa', 30);
      const b = await fresh('diffb', 0);
      await store.upsert(b.name, [
        ...makePoints(30).slice(2),
        { assetId: 'only-b', vector: unitVector(rng(2)), payload: {} },
      ]);
      const d = await store.diffIds(a.name, b.name);
      expect(d).toMatchObject({ missingCount: 2, extraCount: 1, extra: ['only-b'] });
      expect(d.missing.sort()).toEqual(['asset-0', 'asset-1']);
      expect((await store.diffIds(a.name, b.name, { sampleLimit: 1 })).missing).toHaveLength(1);
      const empty = await fresh('diffempty', 0);
      expect(await store.diffIds(a.name, empty.name, { sampleLimit: 0 })).toEqual({
        missing: [],
        missingCount: 30,
        extra: [],
        extraCount: 0,
      });
      expect(await store.diffIds(empty.name, empty.name)).toEqual({
        missing: [],
        missingCount: 0,
        extra: [],
        extraCount: 0,
      });
    });

    describe('bad input: a typed error naming the problem, nothing stored touched', () => {
      let name: string;
      let before: Awaited<ReturnType<VectorStore['retrieve']>>;
      beforeAll(async () => {
        name = (await fresh('bad', 10)).name;
        before = await store.retrieve(name, ['asset-0', 'asset-1'], { withVectors: true });
      });
      const good = () => makePoints(3, 42, 'new');
      const withBad = (vector: number[] | Float32Array) => [
        ...good(),
        { assetId: 'asset-0', vector, payload: { category: 'changed' } },
      ];
      const cases: [string, () => number[] | Float32Array, RegExp][] = [
        [
          'wrong vector length',
          () => new Float32Array(DIM + 1).fill(0.1),
          /asset asset-0\): vector has 17 dimensions, the collection expects 16/,
        ],
        ['NaN component', () => Object.assign(Array.from(unitVector(rng(1))), { 4: NaN }), /component 4 is NaN/],
        [
          'infinite component',
          () => Object.assign(Array.from(unitVector(rng(1))), { 2: Infinity }),
          /component 2 is Infinity/,
        ],
        ['zero vector', () => new Float32Array(DIM), /all zeros/],
      ];
      for (const [what, vec, msg] of cases) {
        it(`rejects a batch with a ${what}`, async () => {
          await expectAppError(store.upsert(name, withBad(vec())), 'INVALID_ARGUMENT', msg);
          expect(await store.count(name)).toBe(10);
          expect(await store.retrieve(name, ['asset-0', 'asset-1'], { withVectors: true })).toEqual(before);
          expect(await store.retrieve(name, ['new-0'])).toEqual([]);
        });
      }
      it('rejects a bad query vector and bad search parameters', async () => {
        await expectAppError(
          store.search(name, { vector: [1, 2], limit: 5 }),
          'INVALID_ARGUMENT',
          /search: vector has 2 dimensions/,
        );
        await expectAppError(store.search(name, { vector: unitVector(rng(1)), limit: 0 }), 'INVALID_ARGUMENT', /limit/);
        await expectAppError(
          store.search(name, { vector: new Float32Array(DIM), limit: 5 }),
          'INVALID_ARGUMENT',
          /all zeros/,
        );
      });
      it('answers NOT_FOUND for an unknown collection', async () => {
        const missing = 't_missing_collection_x';
        await expectAppError(store.info(missing), 'NOT_FOUND', /t_missing_collection_x/);
        await expectAppError(store.upsert(missing, good()), 'NOT_FOUND', /does not exist/);
        await expectAppError(store.search(missing, { vector: unitVector(rng(1)), limit: 3 }), 'NOT_FOUND');
        await expectAppError(store.retrieve(missing, ['a']), 'NOT_FOUND');
        await expectAppError(store.count(missing), 'NOT_FOUND');
        await expectAppError(store.scrollIds(missing, { limit: 3 }), 'NOT_FOUND');
        await expectAppError(store.diffIds(name, missing), 'NOT_FOUND');
        await expectAppError(store.info('bad name; drop'), 'INVALID_ARGUMENT', /collection name/);
      });
      const filters: [string, unknown, RegExp][] = [
        [
          'an unknown key',
          { must: [{ key: 'category OR 1=1', match: { value: 'x' } }] },
          /key "category OR 1=1" is not filterable/,
        ],
        [
          'a value of the wrong type',
          { must: [{ key: 'width', match: { value: '100' } }] },
          /'width' is numeric, got "100"/,
        ],
        ['an injection attempt in a value', { must: [{ key: 'category', match: { value: "x' OR '1'='1" } }] }, /^$/],
        ['a range on text', { must: [{ key: 'category', range: { gt: 'a' } }] }, /'category' is text; 'range' applies/],
        ['an empty any', { must: [{ key: 'category', match: { any: [] } }] }, /'match.any' must be a non-empty array/],
        ['an unknown clause', { should: [] }, /unknown clause\(s\) 'should'/],
        [
          'a bad date',
          { must: [{ key: 'date_taken', range: { gt: 'yesterday' } }] },
          /'date_taken' is a date-time, got "yesterday"/,
        ],
        [
          'match and range together',
          { must: [{ key: 'width', match: { value: 1 }, range: { gt: 1 } }] },
          /exactly one of 'match' or 'range'/,
        ],
        ['a non-finite bound', { must: [{ key: 'width', range: { gt: NaN } }] }, /'width' is numeric/],
      ];
      for (const [what, filter, msg] of filters) {
        it(`handles a filter with ${what}`, async () => {
          const p = store.search(name, { vector: unitVector(rng(1)), limit: 5, filter: filter as never });
          if (msg.source === '^$') {
            // Quoted safely: it matches no category rather than every row.
            expect(await p).toEqual([]);
          } else {
            await expectAppError(p, 'INVALID_ARGUMENT', msg);
            await expectAppError(store.deleteByFilter(name, filter as never), 'INVALID_ARGUMENT', msg);
          }
          expect(await store.count(name)).toBe(10);
        });
      }
    });

    it('verifies a collection against the schema and the model dimension at start-up', async () => {
      const schema = await fresh('verify');
      await expect(verifyCollection(store, schema, DIM)).resolves.toMatchObject({ vectorSize: DIM });
      await expectAppError(
        verifyCollection(store, schema, 512),
        'SCHEMA_MISMATCH',
        /model reports 512 dimensions but collection '.*' is defined with 16/,
      );
      await expectAppError(
        verifyCollection(store, { ...schema, vectorSize: 512 }, 512),
        'SCHEMA_MISMATCH',
        /vector size is 16, schema expects 512/,
      );
      await expectAppError(
        verifyCollection(store, collectionSchema('clip', { name: 't_never_created' }), 512),
        'NOT_FOUND',
      );
    });
  });
}
