import { readFile, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import type { ItemFailureReason } from '@image-search/jobs';
import { itemMessage } from '@image-search/image-formats/item-errors';

/** A file read for embedding (or its preview, with the content hash it stands for), or why it could not be. */
export type ReadResult =
  | { ok: true; data: Buffer; preview?: { contentHash: string } }
  | { ok: false; reason: ItemFailureReason; message: string };

/** Where previews come from (the gateway's PreviewStore, read-only here). */
export interface PreviewSource {
  read(assetId: string, contentHash: string): Promise<Buffer | undefined>;
}

/** What the source point says the file was when it was embedded: a preview stands in only for that file. */
export interface PreviewWanted {
  source: PreviewSource;
  assetId: string;
  contentHash: string;
  size: number;
  mtimeMs: number;
}

/** Resolves the allowed roots once (symlinks followed); roots that do not exist are returned apart. */
export async function resolveRoots(roots: string[]): Promise<{ roots: string[]; missing: string[] }> {
  const out: string[] = [];
  const missing: string[] = [];
  for (const r of roots) {
    try {
      out.push(await realpath(r));
    } catch {
      missing.push(r);
    }
  }
  return { roots: out, missing };
}

/** Whether `real` (a realpath) lies inside one of the roots. */
export function isUnderRoots(real: string, roots: readonly string[]): boolean {
  return roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep));
}

/**
 * Reads an asset's file from its payload path. The real path (symlinks and `..` resolved) must be
 * inside an allowed root; a missing, unreadable, empty or oversized file is a per-item failure.
 * Messages never name the server path (the failure list is keyed by asset id). With `preview`, a file
 * whose size and mtime are still the ones recorded is not read: the preview of the recorded content is
 * returned instead (a missing one, or a changed file, reads the original).
 */
export async function readAsset(
  path: unknown,
  roots: readonly string[],
  maxBytes: number,
  preview?: PreviewWanted,
): Promise<ReadResult> {
  if (typeof path !== 'string' || path.length === 0)
    return { ok: false, reason: 'NO_PATH', message: 'the point has no payload path' };
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      return { ok: false, reason: 'FILE_MISSING', message: 'the file is gone (not found at its path)' };
    return { ok: false, reason: 'READ_FAILED', message: `cannot resolve the file's path (${code ?? 'unknown error'})` };
  }
  if (!isUnderRoots(real, roots))
    return {
      ok: false,
      reason: 'PATH_NOT_ALLOWED',
      message: 'the file is outside the configured ASSET_ROOTS',
    };
  try {
    const st = await stat(real);
    if (!st.isFile()) return { ok: false, reason: 'READ_FAILED', message: 'the path is not a regular file' };
    if (st.size === 0) return { ok: false, reason: 'EMPTY_INPUT', message: itemMessage('EMPTY_INPUT', '0 bytes') };
    if (st.size > maxBytes)
      return {
        ok: false,
        reason: 'INPUT_TOO_LARGE',
        message: itemMessage('INPUT_TOO_LARGE', `${st.size} bytes; limit ${maxBytes} (MAX_IMAGE_BYTES)`),
      };
    if (preview && st.size === preview.size && Math.floor(st.mtimeMs) === preview.mtimeMs) {
      const data = await preview.source.read(preview.assetId, preview.contentHash).catch(() => undefined);
      if (data) return { ok: true, data, preview: { contentHash: preview.contentHash } };
    }
    return { ok: true, data: await readFile(real) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'FILE_MISSING', message: 'the file vanished while being read' };
    return { ok: false, reason: 'READ_FAILED', message: `cannot read the file (${code ?? 'unknown error'})` };
  }
}
