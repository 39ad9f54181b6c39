// Real parts: the embedded engine (LanceDB) in a temp data folder, written by a real child process (tsx)
// while this process reads with a read-consistency bound; no mocks.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { REPO_ROOT } from '@image-search/testing';
import { LanceVectorStore } from './lance-vector-store.js';
import { makePoints, testSchema, writerPoint } from './test/contract-data.js';

const logger = createLogger('vector-store-test', 'warn');
const dirs: string[] = [];
const children: ReturnType<typeof spawn>[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vs-consistency-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true, maxRetries: 5 }));
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const category = (value: string) => ({ must: [{ key: 'category', match: { value } }] });

describe('embedded engine: read-consistency bound', () => {
  it('sees every write another process acknowledged once the bound has passed since the acknowledgement', async () => {
    const BOUND = 300;
    const dataDir = tempDir();
    const schema = testSchema('xproc');
    const reader = await LanceVectorStore.open({ dataDir, logger, readConsistencyMs: BOUND });
    await reader.ensureCollection(schema);
    // Reads before the writer starts: the reader holds a version (and a memoised count) that goes stale.
    expect(await reader.count(schema.name)).toBe(0);
    expect(await reader.count(schema.name, { filter: category('w') })).toBe(0);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'libs/vector-store/src/test/writer.child.ts'),
        dataDir,
        schema.name,
        'w',
        '12',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const checks: Promise<void>[] = [];
    let acked = 0;
    for await (const line of createInterface({ input: child.stdout! })) {
      const m = /^ack w (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      const [batch, size] = [Number(m[1]), Number(m[2])];
      acked += size;
      const total = acked;
      const ids = Array.from({ length: size }, (_, j) => writerPoint('w', batch, size, j).assetId);
      // Checked while the writer goes on writing: what it acknowledged is visible once the bound has passed.
      checks.push(
        sleep(BOUND + 20).then(async () => {
          expect((await reader.retrieve(schema.name, ids)).map((p) => p.assetId)).toEqual(ids);
          expect(await reader.count(schema.name)).toBeGreaterThanOrEqual(total);
          expect(await reader.count(schema.name, { filter: category('w') })).toBeGreaterThanOrEqual(total);
        }),
      );
    }
    await Promise.all(checks);
    await sleep(BOUND + 20);
    expect(await reader.count(schema.name)).toBe(acked);
    expect(await reader.count(schema.name, { filter: category('w') })).toBe(acked);
    await reader.close();
  }, 120_000);

  it('sees its own writes at once, counts and filtered counts included, whatever the bound', async () => {
    const dataDir = tempDir();
    const schema = testSchema('own');
    const store = await LanceVectorStore.open({ dataDir, logger, readConsistencyMs: 1000 });
    await store.ensureCollection(schema);
    const pts = makePoints(12, 3, 'own');
    const beaches = () => store.count(schema.name, { filter: category('beach') });
    for (let i = 0; i < 12; i += 3) {
      const before = await beaches();
      await store.upsert(schema.name, pts.slice(i, i + 3));
      expect(await store.count(schema.name)).toBe(i + 3);
      expect(await beaches()).toBe(before + pts.slice(i, i + 3).filter((p) => p.payload.category === 'beach').length);
      expect((await store.retrieve(schema.name, [pts[i + 2]!.assetId])).map((p) => p.assetId)).toEqual([
        pts[i + 2]!.assetId,
      ]);
    }
    const page = await store.scrollIds(schema.name, { limit: 100 });
    expect(page.assetIds).toHaveLength(12);
    await store.upsert(schema.name, [{ ...pts[0]!, payload: { ...pts[0]!.payload, category: 'edited' } }]);
    expect(await store.count(schema.name, { filter: category('edited') })).toBe(1);
    expect((await store.retrieve(schema.name, [pts[0]!.assetId]))[0]!.payload.category).toBe('edited');
    await store.deleteIds(schema.name, [pts[1]!.assetId]);
    expect(await store.count(schema.name)).toBe(11);
    expect(await store.retrieve(schema.name, [pts[1]!.assetId])).toEqual([]);
    await store.close();
  });

  it('answers a missing collection as NOT_FOUND within the bound, and sees it once created (here at once, elsewhere within the bound)', async () => {
    const BOUND = 300;
    const dataDir = tempDir();
    const reader = await LanceVectorStore.open({ dataDir, logger, readConsistencyMs: BOUND });
    const other = await LanceVectorStore.open({ dataDir, logger });
    const elsewhere = testSchema('elsewhere');
    await expect(reader.count(elsewhere.name)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await other.ensureCollection(elsewhere);
    await other.upsert(elsewhere.name, makePoints(4, 5));
    await sleep(BOUND + 20);
    expect(await reader.count(elsewhere.name)).toBe(4);
    const here = testSchema('here');
    await expect(reader.count(here.name)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await reader.ensureCollection(here);
    await reader.upsert(here.name, makePoints(2, 6));
    expect(await reader.count(here.name)).toBe(2);
    await other.close();
    await reader.close();
  });

  it('refuses a bound outside 0..1000 ms', async () => {
    await expect(LanceVectorStore.open({ dataDir: tempDir(), logger, readConsistencyMs: 1500 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
