import { readFile, stat } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { contentHash, type AssetCatalogue, type CatalogueEntry } from '@image-search/asset-catalogue';
import type { IngestFile } from '@image-search/jobs';
import { assetIdOf } from './ingest-batch.js';

/** What a rescan of a folder must do, before any file is embedded. */
export interface ReconcilePlan {
  /** Every discovered file with its asset id; a moved file carries the id it had and `movedFrom`. */
  files: IngestFile[];
  /** Catalogued files under the folder that are gone from disk and did not move: removed everywhere. */
  removed: CatalogueEntry[];
}

const PAGE = 5000;

/** Catalogue entries of files under `root` (only its direct children when not recursive). */
async function entriesUnder(catalogue: AssetCatalogue, root: string, recursive: boolean): Promise<CatalogueEntry[]> {
  const prefix = root.endsWith(sep) ? root : root + sep;
  const out: CatalogueEntry[] = [];
  let cursor: string | undefined;
  // A scan of the whole catalogue: it has neither a path index nor a prefix query; one page is
  // cheap next to the files' stats, and the port stays the small one both engines implement.
  do {
    const page = await catalogue.scroll({ limit: PAGE, cursor });
    for (const e of page.entries) if (e.path.startsWith(prefix) && (recursive || dirname(e.path) === root)) out.push(e);
    cursor = page.next;
  } while (cursor);
  return out;
}

const gone = (path: string) =>
  stat(path).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || err.code === 'ENOTDIR',
  );

/**
 * Compares the files found under a folder with what the catalogue holds for it: a known path keeps
 * its id; a catalogued file gone from disk is either moved (a new path holds the same content hash:
 * the new path takes over its id) or removed; everything else is new. A file that exists but was not
 * discovered (another extension, a hidden folder) is left alone.
 */
export async function planReconciliation(opts: {
  root: string;
  recursive: boolean;
  discovered: string[];
  catalogue: AssetCatalogue;
}): Promise<ReconcilePlan> {
  const known = await entriesUnder(opts.catalogue, opts.root, opts.recursive);
  const byPath = new Map(known.map((e) => [e.path, e]));
  const found = new Set(opts.discovered);
  const vanished: CatalogueEntry[] = [];
  for (const e of known) if (!found.has(e.path) && (await gone(e.path))) vanished.push(e);
  const fresh = opts.discovered.filter((p) => !byPath.has(p));
  const taken = new Set(known.map((e) => e.assetId));
  const files: IngestFile[] = opts.discovered
    .filter((p) => byPath.has(p))
    .map((p) => ({ path: p, assetId: byPath.get(p)!.assetId }));

  // Moves: only worth reading new files when something vanished.
  const byHash = new Map<string, CatalogueEntry[]>();
  for (const e of vanished) byHash.set(e.contentHash, [...(byHash.get(e.contentHash) ?? []), e]);
  const movedIds = new Set<string>();
  const newcomers: string[] = [];
  for (const path of fresh) {
    const hash = byHash.size ? await readFile(path).then(contentHash, () => undefined) : undefined;
    const from = hash ? byHash.get(hash)?.shift() : undefined;
    if (from) {
      movedIds.add(from.assetId);
      files.push({ path, assetId: from.assetId, movedFrom: from.path });
    } else newcomers.push(path);
  }
  // A new file whose path id another path already holds (a file moved away from this path kept it)
  // gets a derived id; the catalogue beyond this folder is asked too.
  const candidates = newcomers.map((p) => assetIdOf(p));
  for (const e of await getMany(
    opts.catalogue,
    candidates.filter((id) => !taken.has(id)),
  ))
    taken.add(e.assetId);
  for (let i = 0; i < newcomers.length; i++) {
    const path = newcomers[i]!;
    let id = candidates[i]!;
    for (let n = 1; taken.has(id); n++) {
      id = assetIdOf(`${path}\n${n}`);
      if ((await opts.catalogue.get([id])).length) taken.add(id);
    }
    taken.add(id);
    files.push({ path, assetId: id });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, removed: vanished.filter((e) => !movedIds.has(e.assetId)) };
}

async function getMany(catalogue: AssetCatalogue, ids: string[]): Promise<CatalogueEntry[]> {
  const out: CatalogueEntry[] = [];
  for (let i = 0; i < ids.length; i += PAGE) out.push(...(await catalogue.get(ids.slice(i, i + PAGE))));
  return out;
}
