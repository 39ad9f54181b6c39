// Real parts: the embedded engine (LanceDB on a temp data folder); no mocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@image-search/service-kit';
import { FingerprintGuard, sampleCollectionTags } from './fingerprint-guard.js';
import { LanceVectorStore } from './lance-vector-store.js';
import { isAppError, type AppError } from '@image-search/service-kit';
import { expectAppError } from './test/vector-store.contract.js';
import { makePoints, testSchema } from './test/contract-data.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(err, 'FAILED_PRECONDITION')) throw new Error(`expected FAILED_PRECONDITION, got ${String(err)}`);
  return err;
}

describe('FingerprintGuard (embedded engine)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vs-guard-'));
  let store: LanceVectorStore;
  const schema = testSchema('guard');
  beforeAll(async () => {
    store = await LanceVectorStore.open({ dataDir: dir, logger: createLogger('guard-test', 'warn') });
    await store.ensureCollection(schema);
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the first writer into an empty collection and tags its vectors', async () => {
    const guard = new FingerprintGuard(store);
    const tags = await guard.tags({ modelId: 'm1', collection: schema.name, fingerprint: A });
    expect(tags).toEqual({ model_id: 'm1', fingerprint: A });
    await store.upsert(
      schema.name,
      makePoints(5, 1).map((p) => ({ ...p, payload: { ...p.payload, ...tags } })),
    );
    expect(await sampleCollectionTags(store, schema.name)).toEqual({
      tagged: [{ modelId: 'm1', fingerprint: A, count: 5 }],
      untagged: 0,
      sampled: 5,
    });
  });

  it('refuses an embedder whose fingerprint differs from the vectors the collection holds, naming both', async () => {
    const err = await refusal(
      new FingerprintGuard(store).tags({ modelId: 'm1', collection: schema.name, fingerprint: B }),
    );
    expect(err.message).toMatch(
      /refusing to write to collection 't_guard.*reports fingerprint sha256:bbbbbbbbbbbb.*sha256:aaaaaaaaaaaa/,
    );
    expect(err.details).toMatchObject({ embedder_fingerprint: B, expected_fingerprint: A });
  });

  it('refuses another model writing into the collection, even with the same fingerprint', async () => {
    const err = await refusal(
      new FingerprintGuard(store).tags({ modelId: 'm2', collection: schema.name, fingerprint: A }),
    );
    expect(err.message).toMatch(/of model 'm1'/);
  });

  it('refuses a fingerprint that differs from the one pinned in the registry, and an embedder that reports none', async () => {
    const empty = testSchema('guard-empty');
    await store.ensureCollection(empty);
    const guard = new FingerprintGuard(store);
    await expectAppError(
      guard.tags({ modelId: 'm', collection: empty.name, fingerprint: B, pinned: A }),
      'FAILED_PRECONDITION',
    );
    await expectAppError(
      guard.tags({ modelId: 'm1', collection: schema.name, fingerprint: undefined }),
      'FAILED_PRECONDITION',
    );
    expect(await guard.tags({ modelId: 'm', collection: empty.name, fingerprint: A, pinned: A })).toEqual({
      model_id: 'm',
      fingerprint: A,
    });
  });

  it('accepts untagged (older) vectors and a missing collection', async () => {
    const legacy = testSchema('guard-legacy');
    await store.ensureCollection(legacy);
    await store.upsert(legacy.name, makePoints(3, 2));
    const guard = new FingerprintGuard(store);
    await guard.tags({ modelId: 'm', collection: legacy.name, fingerprint: A });
    expect((await sampleCollectionTags(store, legacy.name)).untagged).toBe(3);
    expect(await sampleCollectionTags(store, 'no_such_collection')).toEqual({ tagged: [], untagged: 0, sampled: 0 });
  });
});
