import { readFile, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import type { ItemFailureReason } from '@image-search/jobs';

/** A file read for embedding, or why it could not be. */
export type ReadResult = { ok: true; data: Buffer } | { ok: false; reason: ItemFailureReason; message: string };

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
 */
export async function readAsset(path: unknown, roots: readonly string[], maxBytes: number): Promise<ReadResult> {
  if (typeof path !== 'string' || path.length === 0)
    return { ok: false, reason: 'NO_PATH', message: 'the point has no payload path' };
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      return { ok: false, reason: 'FILE_MISSING', message: `file not found: ${path}` };
    return { ok: false, reason: 'READ_FAILED', message: `cannot resolve ${path}: ${code ?? String(err)}` };
  }
  if (!isUnderRoots(real, roots))
    return {
      ok: false,
      reason: 'PATH_NOT_ALLOWED',
      message: `${real} is outside ASSET_ROOTS (${roots.join(', ') || 'none set'})`,
    };
  try {
    const st = await stat(real);
    if (!st.isFile()) return { ok: false, reason: 'READ_FAILED', message: `${real} is not a regular file` };
    if (st.size === 0) return { ok: false, reason: 'EMPTY_INPUT', message: `${real} is empty` };
    if (st.size > maxBytes)
      return {
        ok: false,
        reason: 'INPUT_TOO_LARGE',
        message: `${real} is ${st.size} bytes, over the ${maxBytes}-byte limit`,
      };
    return { ok: true, data: await readFile(real) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'FILE_MISSING', message: `file vanished: ${real}` };
    return { ok: false, reason: 'READ_FAILED', message: `cannot read ${real}: ${code ?? String(err)}` };
  }
}
