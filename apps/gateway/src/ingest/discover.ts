import { opendir, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { AssetRoots } from './asset-roots.js';

/**
 * Default image extensions ingested when the request names none: every accepted format, plus the
 * camera RAW extensions, so a RAW file is refused with UNSUPPORTED_FORMAT naming its format (the
 * embedded preview is not extracted) rather than skipped as an unknown extension.
 */
export const DEFAULT_EXTENSIONS = [
  ...['jpg', 'jpeg', 'jpe', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'heic', 'heif', 'hif', 'bmp', 'dib', 'ico'],
  ...['dng', 'cr2', 'cr3', 'nef', 'nrw', 'arw', 'orf', 'rw2', 'raf', 'pef'],
];

/** Files found under a folder, and entries refused (unsupported extensions, symlinks leaving the roots, unreadable folders). */
export interface Discovery {
  files: string[];
  refused: { path: string; reason: string }[];
}

/**
 * Walks `dir` (a real path inside the roots) and returns the real paths of image files.
 * Symlinks are followed only when their target stays inside the roots; folder cycles are cut.
 */
export async function discoverImages(
  dir: string,
  opts: { recursive: boolean; extensions: string[]; roots: AssetRoots; limit?: number },
): Promise<Discovery> {
  const exts = new Set(opts.extensions.map((e) => e.toLowerCase().replace(/^\./, '')));
  const files = new Set<string>();
  const refused: Discovery['refused'] = [];
  const seenDirs = new Set<string>();
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;

  const walk = async (folder: string, depth: number): Promise<void> => {
    if (seenDirs.has(folder) || files.size >= limit) return;
    seenDirs.add(folder);
    let handle;
    try {
      handle = await opendir(folder);
    } catch (err) {
      refused.push({ path: folder, reason: `cannot read folder (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
      return;
    }
    const subdirs: string[] = [];
    for await (const entry of handle) {
      if (files.size >= limit) break;
      const full = join(folder, entry.name);
      let real = full;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          real = await realpath(full);
          const st = await stat(real);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          refused.push({ path: full, reason: 'broken symlink' });
          continue;
        }
        if (!opts.roots.contains(real)) {
          refused.push({ path: full, reason: 'symlink target is outside ASSET_ROOTS' });
          continue;
        }
      }
      if (isDir) {
        if (opts.recursive && !entry.name.startsWith('.')) subdirs.push(real);
      } else if (isFile && exts.has(extname(entry.name).slice(1).toLowerCase())) {
        files.add(real);
      } else if (isFile) {
        // Counted, not silently skipped: the report accounts for every file it saw.
        const ext = extname(entry.name).slice(1).toLowerCase();
        refused.push({
          path: full,
          reason: `UNSUPPORTED_FORMAT: ${ext ? `.${ext}` : 'a file without an extension'} is not an extension this ingest reads (${[...exts].join(', ')})`,
        });
      }
    }
    for (const d of subdirs.sort()) await walk(d, depth + 1);
  };
  await walk(dir, 0);
  return { files: [...files].sort(), refused };
}
