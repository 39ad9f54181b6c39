// Real parts: the embedded engine (LanceDB) in a temp data folder, written by real child processes (tsx) that
// are killed with SIGKILL or run concurrently with this process's reads. No mocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { spawn } from 'node:child_process';
import { REPO_ROOT, waitFor } from '@image-search/testing';
import { LanceVectorStore } from './lance-vector-store.js';
import { normalized, parseWriterId, testSchema, writerPoint } from './test/contract-data.js';

const WRITER = 'libs/vector-store/src/test/writer.child.ts';
const logger = createLogger('vector-store-test', 'warn');
const dirs: string[] = [];

/**
 * Runs the writer as ONE node process (tsx as a loader, not the tsx CLI, which would run it in a grandchild
 * that SIGKILL of the CLI leaves alive).
 */
function startWriter(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, WRITER), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // 'close' (not 'exit') so every byte written before death has been read.
  const closed = new Promise<number | string>((res) =>
    child.once('close', (code, signal) => res(code ?? signal ?? -1)),
  );
  children.push(child);
  return { child, output: () => out, closed };
}
const children: ReturnType<typeof spawn>[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true, maxRetries: 5 }));
});

function acks(output: string): { prefix: string; batch: number; size: number }[] {
  return [...output.matchAll(/^ack (\S+) (\d+) (\d+)$/gm)].map((m) => ({
    prefix: m[1]!,
    batch: Number(m[2]),
    size: Number(m[3]),
  }));
}

async function setup(label: string) {
  const dataDir = mkdtempSync(join(tmpdir(), `vs-${label}-`));
  dirs.push(dataDir);
  const schema = testSchema(label);
  const store = await LanceVectorStore.open({ dataDir, logger });
  await store.ensureCollection(schema);
  return { dataDir, schema, store };
}

/** Every acknowledged point is present with its exact (normalised) vector and payload. */
async function expectAcked(store: LanceVectorStore, collection: string, acked: ReturnType<typeof acks>): Promise<void> {
  const expected = acked.flatMap((a) =>
    Array.from({ length: a.size }, (_, j) => writerPoint(a.prefix, a.batch, a.size, j)),
  );
  const got = new Map(
    (
      await store.retrieve(
        collection,
        expected.map((p) => p.assetId),
        { withVectors: true },
      )
    ).map((p) => [p.assetId, p]),
  );
  const missing = expected.filter((p) => !got.has(p.assetId)).map((p) => p.assetId);
  expect(missing, 'acknowledged but missing').toEqual([]);
  for (const p of expected) {
    const g = got.get(p.assetId)!;
    expect(Array.from(g.vector!)).toEqual(Array.from(normalized(p.vector)));
    expect(g.payload).toEqual({ ...p.payload, asset_id: p.assetId });
  }
}

describe('embedded engine reliability', () => {
  it('keeps every acknowledged upsert when the writer is killed with SIGKILL at a random moment', async () => {
    const { dataDir, schema, store } = await setup('kill9');
    // Index threshold 300: index builds and refreshes are running in the writer when it dies, too.
    const child = startWriter([dataDir, schema.name, 'k', '1000000', '300']);
    const minAcks = 20 + Math.floor(Math.random() * 40);
    await waitFor('the writer to acknowledge upserts', () => acks(child.output()).length >= minAcks, 30_000, 20);
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    child.child.kill('SIGKILL');
    expect(await child.closed).toBe('SIGKILL');
    const acked = acks(child.output());
    expect(acked.length).toBeGreaterThanOrEqual(minAcks);
    await store.close();
    const reopened = await LanceVectorStore.open({ dataDir, logger });
    await expectAcked(reopened, schema.name, acked);
    // Nothing beyond the last batch the writer started can exist, and every batch is whole (atomic commits).
    const { assetIds } = await reopened.scrollIds(schema.name, { limit: 10_000 });
    const perBatch = new Map<number, number>();
    for (const id of assetIds) {
      const w = parseWriterId(id)!;
      perBatch.set(w.batch, (perBatch.get(w.batch) ?? 0) + 1);
      // Batches 0..n-1 were acknowledged; batch n may have committed just before its ack was printed.
      expect(w.batch).toBeLessThanOrEqual(acked.length);
    }
    for (const [batch, n] of perBatch)
      expect(n, `batch ${batch} torn`).toBe(
        parseWriterId(assetIds.find((id) => parseWriterId(id)!.batch === batch)!)!.size,
      );
    await reopened.close();
  });

  it('two writer processes and a reader on one data folder: no acknowledged write lost, no torn read', async () => {
    const { dataDir, schema, store } = await setup('multi');
    const batches = 60;
    const a = startWriter([dataDir, schema.name, 'pa', String(batches), '400']);
    const b = startWriter([dataDir, schema.name, 'pb', String(batches), '400']);
    const counts: number[] = [];
    let reads = 0;
    const finished = Promise.all([a.closed, b.closed]);
    let over = false;
    void finished.then(() => (over = true));
    while (!over) {
      // Each read is one snapshot: every batch in it is complete, and counts never go backwards.
      const page = await store.scrollIds(schema.name, { limit: 10_000 });
      const perBatch = new Map<string, { n: number; size: number }>();
      for (const id of page.assetIds) {
        const w = parseWriterId(id)!;
        const k = `${w.prefix}/${w.batch}`;
        const e = perBatch.get(k) ?? { n: 0, size: w.size };
        e.n++;
        perBatch.set(k, e);
      }
      for (const [k, e] of perBatch) expect(e.n, `torn read of batch ${k}`).toBe(e.size);
      const total = await store.count(schema.name);
      expect(total).toBeGreaterThanOrEqual(counts.at(-1) ?? 0);
      counts.push(total);
      reads++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await a.closed, a.output()).toBe(0);
    expect(await b.closed, b.output()).toBe(0);
    const acked = [...acks(a.output()), ...acks(b.output())];
    expect(acked).toHaveLength(2 * batches);
    // The reader saw the other processes' writes as they happened, not only at the end.
    expect(new Set(counts).size).toBeGreaterThan(2);
    expect(reads).toBeGreaterThan(2);
    await expectAcked(store, schema.name, acked);
    expect(await store.count(schema.name)).toBe(acked.reduce((s, x) => s + x.size, 0));
    await store.close();
  });
});
