// tools:create-collection end to end: the real CLI process (tsx) against the real embedded engine (LanceDB) in a temp
// DATA_DIR. The Qdrant path shares the code and is covered by the vector-store contract suite when QDRANT_URL is set.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTsProcess } from '@image-search/testing';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'create-collection-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function run(dataDir: string, args: string[], env: Record<string, string> = {}) {
  // QDRANT_URL is cleared so the embedded engine is used whatever the caller's environment says.
  const p = startTsProcess(
    'tools/src/create-collection.cli.ts',
    { DATA_DIR: dataDir, QDRANT_URL: '', SIGLIP_COLLECTION: '', CLIP_COLLECTION: '', ...env },
    args,
  );
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('tools:create-collection (embedded engine)', () => {
  it('previews with --dry-run and changes nothing, not even creating the data folder', async () => {
    const dataDir = join(work, 'dry');
    const r = await run(dataDir, ['--model', 'siglip', '--dry-run']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Collection name: image_assets_siglip');
    expect(r.out).toContain('Embedding dimension: 768');
    expect(r.out).toContain('HNSW ef_construct: 100');
    expect(r.out).toMatch(/does not exist: a plain run would create it\. Nothing was changed\./);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('creates idempotently, prints the expected output block, and checks', async () => {
    const dataDir = join(work, 'create');
    const first = await run(dataDir, ['--model', 'siglip']);
    expect(first.code, first.out).toBe(0);
    for (const line of [
      'Creating SigLIP collection...',
      '  Collection name: image_assets_siglip',
      '  Embedding dimension: 768',
      `  Data folder: ${dataDir} (embedded engine)`,
      "✓ Collection 'image_assets_siglip' created successfully",
      '  Status: green',
      '  Points: 0',
      '  Vector size: 768',
      '  Distance: COSINE',
      '  Quantization enabled: True (int8, quantile 0.99)',
      '  HNSW m: 16',
      '  HNSW ef_construct: 100',
    ]) {
      expect(first.out).toContain(line);
    }
    const again = await run(dataDir, ['--model', 'siglip']);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('already exists and matches the schema (nothing changed)');
    const check = await run(dataDir, ['--model', 'siglip', '--check']);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toContain("✓ Collection 'image_assets_siglip' matches the schema");
    expect(check.out).toContain('  Points: 0');
    const dry = await run(dataDir, ['--model', 'siglip', '--dry-run']);
    expect(dry.out).toContain('already exists and matches the schema: a plain run would change nothing');
  });

  it('--check exits 1 naming each difference, or when the collection is missing; a plain run refuses a mismatch', async () => {
    const dataDir = join(work, 'check');
    expect((await run(dataDir, ['--model', 'clip', '--dim', '64'], { CLIP_COLLECTION: 'my_clip' })).code).toBe(0);
    const diff = await run(dataDir, ['--model', 'clip', '--check'], { CLIP_COLLECTION: 'my_clip' });
    expect(diff.code).toBe(1);
    expect(diff.out).toContain("collection 'my_clip': vector size is 64, schema expects 512");
    const create = await run(dataDir, ['--model', 'clip'], { CLIP_COLLECTION: 'my_clip' });
    expect(create.code).toBe(1);
    expect(create.out).toMatch(/SCHEMA_MISMATCH|vector size is 64, schema expects 512/);
    const missing = await run(dataDir, ['--model', 'siglip', '--check']);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain("✗ Collection 'image_assets_siglip' does not exist");
  });

  it('rejects bad arguments with usage and exit 2', async () => {
    const r = await run(join(work, 'bad'), ['--model', 'bert']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('--model must be siglip or clip (got "bert")');
    expect((await run(join(work, 'bad'), ['--model', 'clip', '--check', '--dry-run'])).code).toBe(2);
  });
});
