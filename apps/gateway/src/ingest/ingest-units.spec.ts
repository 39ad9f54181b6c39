import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AssetRoots } from './asset-roots.js';
import { exifDateTimeOriginal } from './exif-date.js';
import { assetIdOf } from './ingest-batch.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-roots-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal little-endian EXIF block with IFD0 → Exif IFD → DateTimeOriginal. */
function exifWith(date: string): Buffer {
  const b = Buffer.alloc(80);
  b.write('II', 0, 'ascii');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(1, 8); // IFD0: one entry
  b.writeUInt16LE(0x8769, 10);
  b.writeUInt16LE(4, 12);
  b.writeUInt32LE(1, 14);
  b.writeUInt32LE(26, 18); // Exif IFD at 26
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(0x9003, 28);
  b.writeUInt16LE(2, 30);
  b.writeUInt32LE(20, 32);
  b.writeUInt32LE(44, 36); // string at 44
  b.write(`${date}\0`, 44, 'ascii');
  return Buffer.concat([Buffer.from('Exif\0\0'), b]);
}

describe('exifDateTimeOriginal', () => {
  it('reads DateTimeOriginal and ignores garbage', () => {
    expect(exifDateTimeOriginal(exifWith('2019:07:14 18:30:05'))).toBe('2019-07-14T18:30:05.000Z');
    expect(exifDateTimeOriginal(exifWith('0000:00:00 00:00:00'))).toBeUndefined();
    expect(exifDateTimeOriginal(Buffer.from('nonsense nonsense'))).toBeUndefined();
    expect(exifDateTimeOriginal(undefined)).toBeUndefined();
  });
});

describe('AssetRoots (real files and symlinks)', () => {
  it('allows paths inside the roots and refuses .., symlink escapes and sibling prefixes', async () => {
    mkdirSync(join(dir, 'photos', 'a'), { recursive: true });
    mkdirSync(join(dir, 'photos-evil'));
    mkdirSync(join(dir, 'secret'));
    writeFileSync(join(dir, 'secret', 'x.jpg'), 'x');
    symlinkSync(join(dir, 'secret'), join(dir, 'photos', 'link'));
    const { roots, missing } = await AssetRoots.resolve([join(dir, 'photos'), join(dir, 'nope')]);
    expect(missing).toEqual([join(dir, 'nope')]);
    expect(await roots.check(join(dir, 'photos', 'a'), 'root_path')).toBe(join(dir, 'photos', 'a'));
    expect(await roots.check(join(dir, 'photos', 'a', '..'), 'root_path')).toBe(join(dir, 'photos'));
    for (const bad of [
      join(dir, 'photos', '..', 'secret'),
      join(dir, 'photos', 'link'),
      join(dir, 'photos-evil'),
      join(dir, 'photos', 'link', 'x.jpg'),
    ]) {
      await expect(roots.check(bad, 'root_path'), bad).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    }
    await expect(roots.check(join(dir, 'secret', 'missing'), 'root_path')).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    await expect(roots.check(join(dir, 'photos', 'missing'), 'root_path')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect((await AssetRoots.resolve([])).roots.check('/x', 'root_path')).rejects.toThrow(/ASSET_ROOTS is empty/);
  });
  it('asset ids are the first 32 hex chars of sha256(path)', () => {
    expect(assetIdOf('/photos/a.jpg')).toMatch(/^[0-9a-f]{32}$/);
    expect(assetIdOf('/photos/a.jpg')).toBe(assetIdOf('/photos/a.jpg'));
  });
});
