// Real parts: the embedded engine (LanceDB on a temp data folder); no mocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { LanceVectorStore } from './lance-vector-store.js';
import { expectAppError, vectorStoreContract } from './test/vector-store.contract.js';
import { cosine, makePoints, rng, testSchema, unitVector } from './test/contract-data.js';

const logger = createLogger('vector-store-test', 'warn');
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vs-lance-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

vectorStoreContract('embedded engine (LanceDB)', () => LanceVectorStore.open({ dataDir: tempDir(), logger }));

describe('embedded engine: index, persistence', () => {
  it('builds the HNSW int8 index at the threshold, keeps it current, and still finds the nearest neighbours', async () => {
    const dataDir = tempDir();
    const store = await LanceVectorStore.open({
      dataDir,
      logger,
      policy: { indexThreshold: 300, reindexMinRows: 50, checkIntervalMs: 0 },
    });
    const schema = testSchema('index');
    await store.ensureCollection(schema);
    const pts = makePoints(400, 11);
    await store.upsert(schema.name, pts.slice(0, 200));
    await store.idle();
    expect((await store.info(schema.name)).indexed).toBe(false);
    await store.upsert(schema.name, pts.slice(200));
    await store.idle();
    await store.optimize(schema.name);
    const info = await store.info(schema.name);
    expect(info).toMatchObject({
      indexed: true,
      status: 'green',
      pointCount: 400,
      quantization: { type: 'int8' },
      hnsw: { m: 16, efConstruct: 100 },
    });
    // New points are searchable at once (scanned next to the index) and folded in by the next optimize.
    const extra = makePoints(100, 12, 'late');
    await store.upsert(schema.name, extra);
    const hit = await store.search(schema.name, { vector: extra[5]!.vector, limit: 1 });
    expect(hit[0]!.assetId).toBe('late-5');
    expect((await store.info(schema.name)).status).toBe('yellow');
    await store.idle();
    await store.optimize(schema.name);
    expect((await store.info(schema.name)).status).toBe('green');
    const all = [...pts, ...extra];
    const rand = rng(5);
    let found = 0;
    for (let q = 0; q < 20; q++) {
      const v = unitVector(rand);
      const truth = new Set(
        all
          .map((p) => ({ id: p.assetId, s: cosine(v, p.vector) }))
          .sort((a, b) => b.s - a.s)
          .slice(0, 10)
          .map((t) => t.id),
      );
      found += (await store.search(schema.name, { vector: v, limit: 10 })).filter((h) => truth.has(h.assetId)).length;
    }
    expect(found / 200).toBeGreaterThanOrEqual(0.9);
    // Filters apply before the index search (prefilter): only matching points, still the nearest ones.
    const filter = { must: [{ key: 'category', match: { value: 'beach' } }] };
    const v = unitVector(rand);
    const approx = await store.search(schema.name, { vector: v, limit: 10, filter });
    const exact = await store.search(schema.name, { vector: v, limit: 10, filter, exact: true });
    expect(approx.every((h) => h.payload.category === 'beach')).toBe(true);
    expect(approx.filter((h) => exact.some((e) => e.assetId === h.assetId)).length).toBeGreaterThanOrEqual(8);
    await store.close();
  });

  it('folds new rows into the index as delta segments and rebuilds it past the segment cap', async () => {
    const store = await LanceVectorStore.open({
      dataDir: tempDir(),
      logger,
      policy: { indexThreshold: 100, reindexMinRows: 10, maxIndexSegments: 2, checkIntervalMs: 3_600_000 },
    });
    const schema = testSchema('segments');
    await store.ensureCollection(schema);
    await store.upsert(schema.name, makePoints(150, 3));
    await store.optimize(schema.name);
    expect((await store.storageStats(schema.name)).indexSegments).toBe(1);
    const actions: string[] = [];
    for (let r = 0; r < 3; r++) {
      await store.upsert(schema.name, makePoints(20, 10 + r, `r${r}`));
      actions.push((await store.optimize(schema.name)).action);
    }
    expect(actions).toEqual(['optimize', 'optimize', 'rebuild-index']);
    const st = await store.storageStats(schema.name);
    expect(st).toMatchObject({ numRows: 210, indexSegments: 1, unindexedRows: 0 });
    expect(
      (await store.search(schema.name, { vector: makePoints(20, 12, 'r2')[4]!.vector, limit: 1 }))[0]!.assetId,
    ).toBe('r2-4');
    await store.close();
  });

  it('above segmentRebuildMaxRows rebuilds only once the rows since the last build reach rebuildFraction of it', async () => {
    // The large-table rule at a small scale: 150 rows count as large, a rebuild waits for 60% (90) new rows.
    const store = await LanceVectorStore.open({
      dataDir: tempDir(),
      logger,
      policy: {
        indexThreshold: 100,
        reindexMinRows: 10,
        maxIndexSegments: 2,
        segmentRebuildMaxRows: 100,
        rebuildFraction: 0.6,
        checkIntervalMs: 3_600_000,
      },
    });
    const schema = testSchema('large-rule');
    await store.ensureCollection(schema);
    await store.upsert(schema.name, makePoints(150, 3));
    await store.optimize(schema.name);
    const actions: string[] = [];
    for (let r = 0; r < 4; r++) {
      await store.upsert(schema.name, makePoints(20, 10 + r, `r${r}`));
      actions.push((await store.optimize(schema.name)).action);
    }
    // Past the 2-segment cap with 60 and 80 new rows: still deltas; at 100 new rows the rebuild comes.
    expect(actions).toEqual(['optimize', 'optimize', 'optimize', 'optimize']);
    expect((await store.storageStats(schema.name)).indexSegments).toBeGreaterThan(2);
    await store.upsert(schema.name, makePoints(20, 20, 'r4'));
    expect((await store.optimize(schema.name)).action).toBe('rebuild-index');
    expect(await store.storageStats(schema.name)).toMatchObject({ numRows: 250, indexSegments: 1 });
    await store.close();
  });

  it('settles a table filled by many small writes once the writes stop: one fragment, one index segment, every row indexed', async () => {
    // Checks once an hour: only the settling pass can compact or index here (no timings are asserted).
    const policy = { indexThreshold: 100, checkIntervalMs: 3_600_000 };
    const dataDir = tempDir();
    const schema = testSchema('settle');
    // A writer that stops before its settle is due (closing drops it), as a short-lived ingest would.
    const writer = await LanceVectorStore.open({ dataDir, logger, policy: { ...policy, settleAfterMs: 3_600_000 } });
    await writer.ensureCollection(schema);
    for (let b = 0; b < 30; b++) await writer.upsert(schema.name, makePoints(8, b, `w${b}`));
    const left = await writer.storageStats(schema.name);
    expect(left.numFragments).toBeGreaterThan(1);
    expect(left.indexSegments).toBe(0);
    await writer.close();
    // The next process to open the table settles it: compacted, HNSW index built over every row.
    const store = await LanceVectorStore.open({ dataDir, logger, policy: { ...policy, settleAfterMs: 50 } });
    await store.count(schema.name);
    await store.settled();
    expect(await store.storageStats(schema.name)).toMatchObject({
      numRows: 240,
      numFragments: 1,
      indexSegments: 1,
      unindexedRows: 0,
    });
    // Ingest-style writes into the indexed table (below every threshold), then quiet: folded in and compacted.
    // (How far it got between the writes depends on the machine's speed; only the settled end is asserted.)
    for (let b = 0; b < 20; b++) await store.upsert(schema.name, makePoints(5, 100 + b, `i${b}`));
    await store.settled();
    // Small enough (settleMergeMaxRows) to merge the index's segments, and then its fragments, into one.
    expect(await store.storageStats(schema.name)).toMatchObject({
      numRows: 340,
      numFragments: 1,
      indexSegments: 1,
      unindexedRows: 0,
    });
    expect((await store.info(schema.name)).status).toBe('green');
    expect((await store.retrieve(schema.name, ['i7-3', 'w29-7'])).map((p) => p.assetId)).toEqual(['i7-3', 'w29-7']);
    await store.close();
  });

  it('scrolls one snapshot: writes and deletes during a scroll neither add, drop nor repeat ids', async () => {
    const store = await LanceVectorStore.open({ dataDir: tempDir(), logger });
    const schema = testSchema('snapshot');
    await store.ensureCollection(schema);
    for (let b = 0; b < 4; b++) await store.upsert(schema.name, makePoints(25, b, `b${b}`));
    const before = new Set((await store.scrollIds(schema.name, { limit: 1000 })).assetIds);
    const seen: string[] = [];
    let page = await store.scrollIds(schema.name, { limit: 30 });
    seen.push(...page.assetIds);
    await store.upsert(schema.name, [...makePoints(10, 9, 'new'), ...makePoints(5, 0, 'b0')]);
    await store.deleteIds(schema.name, ['b3-0', 'b3-1']);
    while (page.next) {
      page = await store.scrollIds(schema.name, { limit: 30, cursor: page.next });
      seen.push(...page.assetIds);
    }
    expect(seen).toHaveLength(100);
    expect(new Set(seen)).toEqual(before);
    await expectAppError(store.scrollIds(schema.name, { limit: 30, cursor: 'garbage' }), 'INVALID_ARGUMENT', /cursor/);
    await store.close();
  });

  it('keeps collections, configuration and points across reopening the data folder', async () => {
    const dataDir = tempDir();
    const schema = testSchema('reopen');
    const a = await LanceVectorStore.open({ dataDir, logger });
    await a.ensureCollection(schema);
    await a.upsert(schema.name, makePoints(10));
    await a.close();
    const b = await LanceVectorStore.open({ dataDir, logger });
    expect(await b.ensureCollection(schema)).toMatchObject({
      created: false,
      info: { pointCount: 10, hnsw: { m: 16, efConstruct: 100 } },
    });
    await b.close();
  });
});
