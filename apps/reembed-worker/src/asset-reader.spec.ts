// Real files in a temp folder (symlinks included).
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUnderRoots, readAsset, resolveRoots } from './asset-reader.js';

describe('readAsset', () => {
  let dir: string;
  let roots: string[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'asset-reader-'));
    await mkdir(join(dir, 'photos', 'a'), { recursive: true });
    await mkdir(join(dir, 'private'), { recursive: true });
    await writeFile(join(dir, 'photos', 'a', 'ok.jpg'), Buffer.alloc(100, 1));
    await writeFile(join(dir, 'photos', 'a', 'empty.jpg'), '');
    await writeFile(join(dir, 'private', 'secret.jpg'), Buffer.alloc(10, 2));
    await symlink(join(dir, 'private', 'secret.jpg'), join(dir, 'photos', 'a', 'link.jpg'));
    await writeFile(join(dir, 'photos-evil.jpg'), 'x');
    ({ roots } = await resolveRoots([join(dir, 'photos'), join(dir, 'nope')]));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads a file under the roots', async () => {
    const r = await readAsset(join(dir, 'photos', 'a', 'ok.jpg'), roots, 1000);
    expect(r.ok && r.data.length).toBe(100);
  });

  it('returns the preview of the recorded content while the file is unchanged, the original once it changed', async () => {
    const path = join(dir, 'photos', 'a', 'ok.jpg');
    const st = await stat(path);
    const hash = `sha256:${'ab'.repeat(32)}`;
    const asked: string[] = [];
    const source = {
      read: async (id: string, h: string) => (
        asked.push(`${id} ${h}`),
        h === hash ? Buffer.from('preview') : undefined
      ),
    };
    const wanted = { source, assetId: 'a1', contentHash: hash, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
    const r = await readAsset(path, roots, 1000, wanted);
    expect(r).toEqual({ ok: true, data: Buffer.from('preview'), preview: { contentHash: hash } });
    expect(asked).toEqual([`a1 ${hash}`]);
    // Another size or mtime than recorded: the file changed, so its preview is stale whatever it holds.
    for (const stale of [{ size: st.size + 1 }, { mtimeMs: Math.floor(st.mtimeMs) - 1000 }]) {
      const o = await readAsset(path, roots, 1000, { ...wanted, ...stale });
      expect(o.ok && o.data.length).toBe(100);
      expect(o.ok && o.preview).toBeUndefined();
    }
    // No preview for that content (none made, or it was made for another version): the original.
    const missing = await readAsset(path, roots, 1000, { ...wanted, contentHash: `sha256:${'cd'.repeat(32)}` });
    expect(missing.ok && missing.data.length).toBe(100);
    // The path checks still apply: a preview never stands in for a file outside the roots or too large.
    expect(await readAsset(join(dir, 'photos', 'a', 'link.jpg'), roots, 1000, wanted)).toMatchObject({
      reason: 'PATH_NOT_ALLOWED',
    });
    expect(await readAsset(path, roots, 50, wanted)).toMatchObject({ reason: 'INPUT_TOO_LARGE' });
  });

  it('refuses paths that leave the roots through .. , symlinks or a shared name prefix', async () => {
    expect(await readAsset(join(dir, 'photos', 'a', '..', '..', 'private', 'secret.jpg'), roots, 1000)).toMatchObject({
      ok: false,
      reason: 'PATH_NOT_ALLOWED',
    });
    expect(await readAsset(join(dir, 'photos', 'a', 'link.jpg'), roots, 1000)).toMatchObject({
      ok: false,
      reason: 'PATH_NOT_ALLOWED',
    });
    expect(await readAsset(join(dir, 'photos-evil.jpg'), roots, 1000)).toMatchObject({
      ok: false,
      reason: 'PATH_NOT_ALLOWED',
    });
    expect(isUnderRoots('/data/photos2/x.jpg', ['/data/photos'])).toBe(false);
  });

  it('names missing, empty, oversized and path-less items', async () => {
    expect(await readAsset(join(dir, 'photos', 'gone.jpg'), roots, 1000)).toMatchObject({
      ok: false,
      reason: 'FILE_MISSING',
    });
    expect(await readAsset(join(dir, 'photos', 'a', 'empty.jpg'), roots, 1000)).toMatchObject({
      ok: false,
      reason: 'EMPTY_INPUT',
    });
    const big = await readAsset(join(dir, 'photos', 'a', 'ok.jpg'), roots, 50);
    expect(big).toMatchObject({ ok: false, reason: 'INPUT_TOO_LARGE' });
    expect(!big.ok && big.message).toMatch(/^INPUT_TOO_LARGE: .*100 bytes; limit 50/);
    expect(await readAsset(undefined, roots, 1000)).toMatchObject({ ok: false, reason: 'NO_PATH' });
    expect(await readAsset(join(dir, 'photos', 'a'), roots, 1000)).toMatchObject({ ok: false, reason: 'READ_FAILED' });
  });

  it('reports roots that do not exist', async () => {
    expect((await resolveRoots([join(dir, 'nope')])).missing).toEqual([join(dir, 'nope')]);
  });
});
