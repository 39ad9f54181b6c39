// Real parts: the embedded store in a temp folder, written by a real child process (the vector-store
// writer) while the gateway (in this process, real Redis) reads it with READ_CONSISTENCY_MS; the embedders
// are in-process fakes (FakeEmbedder), which this test does not use beyond start-up.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionSchema } from '@image-search/collection-schema';
import { createLogger } from '@image-search/service-kit';
import { LanceVectorStore } from '@image-search/vector-store';
import { REPO_ROOT, uniqueName } from '@image-search/testing';
import { FakeEmbedder } from '../test/fake-embedder.js';
import { startTestGateway, type RunningGateway } from '../test/test-gateway.js';

const BOUND = 300;
const REFRESH = 100;
const TOKEN = 'consistency-token';
const root = mkdtempSync(join(tmpdir(), 'gw-consistency-'));
const dataDir = join(root, 'data');
let gw: RunningGateway;

beforeAll(async () => {
  // CLIP holds 40 points; the SigLIP collection exists empty (the writer's 16-d points go there).
  const store = await LanceVectorStore.open({ dataDir, logger: createLogger('t', 'warn') });
  await store.ensureCollection(collectionSchema('clip', { name: 'rc_clip', vectorSize: 4 }));
  await store.upsert(
    'rc_clip',
    Array.from({ length: 40 }, (_, i) => ({
      assetId: i.toString(16).padStart(32, '0'),
      vector: [1, i, 0, 0],
      payload: { path: `/p/${i}.jpg` },
    })),
  );
  await store.ensureCollection(collectionSchema('siglip', { name: 'rc_siglip', vectorSize: 16 }));
  await store.close();
  gw = await startTestGateway(
    {
      DATA_DIR: dataDir,
      CLIP_COLLECTION: 'rc_clip',
      SIGLIP_COLLECTION: 'rc_siglip',
      SIGLIP_EMBEDDING_DIM: '0',
      CLIP_EMBEDDING_DIM: '0',
      READ_CONSISTENCY_MS: String(BOUND),
      COVERAGE_REFRESH_MS: String(REFRESH),
      QUEUE_PREFIX: uniqueName('gw-rc'),
      ADMIN_TOKEN: TOKEN,
      INGEST_WORKER: 'false',
    },
    { embedders: { clip: new FakeEmbedder('clip'), siglip: new FakeEmbedder('siglip') } },
  );
}, 60_000);
afterAll(async () => {
  await gw?.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 5 });
});

const coverage = async () =>
  (
    (await (
      await fetch(`${gw.url}/api/v1/admin/rollout`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { coverage: { from_points: number; to_points: number } }
  ).coverage;

describe('gateway reads with a consistency bound (another process writing)', () => {
  it('the coverage gate only ever reports a count the store really had, and the writer’s last count within the bound', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'libs/vector-store/src/test/writer.child.ts'),
        dataDir,
        'rc_siglip',
        'w',
        '15',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    // Every count a version of the collection had: the sums of the acknowledged batches (each is atomic).
    const real = new Set([0]);
    let acked = 0;
    let polling = true;
    const seen: number[] = [];
    const poller = (async () => {
      while (polling) {
        seen.push((await coverage()).to_points);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for await (const line of createInterface({ input: child.stdout })) {
      const m = /^ack w \d+ (\d+)$/.exec(line);
      if (m) real.add((acked += Number(m[1])));
    }
    // Once the bound and one refresh have passed, the gate counts everything the writer acknowledged.
    await new Promise((r) => setTimeout(r, BOUND + 2 * REFRESH + 100));
    polling = false;
    await poller;
    const last = await coverage();
    expect(last).toMatchObject({ from_points: 40, to_points: acked });
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter((n) => !real.has(n))).toEqual([]);
  }, 120_000);

  it('the asset list shows another writer’s points within the bound, on first pages and paged through', async () => {
    type List = { assets: { id: string }[]; total: number; next_cursor: string | null };
    const list = async (q: string) => (await (await fetch(`${gw.url}/api/v1/assets?${q}`)).json()) as List;
    const walk = async () => {
      const ids: string[] = [];
      let page = await list('limit=7');
      ids.push(...page.assets.map((a) => a.id));
      while (page.next_cursor) {
        page = await list(`limit=7&cursor=${encodeURIComponent(page.next_cursor)}`);
        ids.push(...page.assets.map((a) => a.id));
      }
      return ids;
    };
    const before = await walk();
    expect((await list('limit=50')).total).toBe(40);
    expect(new Set(before).size).toBe(40);
    // Another writer (its own connection to the data folder; the gateway's pages of the old version are kept).
    const writer = await LanceVectorStore.open({ dataDir, logger: createLogger('t', 'warn') });
    const added = Array.from({ length: 5 }, (_, i) => (100 + i).toString(16).padStart(32, '0'));
    await writer.upsert(
      'rc_clip',
      added.map((id, i) => ({ assetId: id, vector: [0, 1, i, 0], payload: { path: `/p/new-${i}.jpg` } })),
    );
    await writer.close();
    await new Promise((r) => setTimeout(r, BOUND + 100));
    const first = await list('limit=50');
    expect(first.total).toBe(45);
    expect(first.assets.map((a) => a.id)).toEqual(expect.arrayContaining(added));
    const after = await walk();
    expect(after).toHaveLength(45);
    expect(new Set(after)).toEqual(new Set([...before, ...added]));
  }, 60_000);
});
