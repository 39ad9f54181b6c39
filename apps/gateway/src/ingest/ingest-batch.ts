import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { inspectImage, isItemFailure } from '@image-search/image-formats';
import { AppError } from '@image-search/service-kit';
import type { IngestFile } from '@image-search/jobs';
import { CONTENT_HASH_KEY, contentHash, type CatalogueWrite } from '@image-search/asset-catalogue';
import type { StoredPoint, UpsertPoint } from '@image-search/vector-store';
import { exifDateTimeOriginal } from './exif-date.js';
import { embedForWriter, previewNow, type FileFailures } from './ingest-embed.js';
import type { BatchOutcome, FileWork, IngestContext, IngestWriter } from './ingest.types.js';

/** No byte or pixel limit here: the embedders apply theirs and report each file that is over. */
const INGEST_LIMITS = { maxBytes: Number.MAX_SAFE_INTEGER, maxPixels: Number.MAX_SAFE_INTEGER };

/** The asset id of a real absolute path: first 32 hex chars of sha256(path). */
export function assetIdOf(realPath: string): string {
  return createHash('sha256').update(realPath).digest('hex').slice(0, 32);
}

export type { BatchOutcome, FileWork, IngestContext, IngestWriter } from './ingest.types.js';

const fresh = (p: StoredPoint | undefined, w: FileWork, catalogueHash: string | undefined): boolean =>
  p !== undefined &&
  p.payload['file_size'] === w.size &&
  p.payload['file_mtime_ms'] === w.mtimeMs &&
  p.payload.path === w.file.path &&
  (catalogueHash === undefined ||
    p.payload[CONTENT_HASH_KEY] === undefined ||
    p.payload[CONTENT_HASH_KEY] === catalogueHash);

/** Live writers: the registered collections that exist; a live one without an embedder is a precondition failure. */
export async function liveWriters(ctx: Pick<IngestContext, 'store' | 'writers'>): Promise<IngestWriter[]> {
  const exists = await Promise.all(ctx.writers.map((w) => ctx.store.exists(w.collection)));
  const live = ctx.writers.filter((_, i) => exists[i]);
  const blind = live.find((w) => !w.embedder);
  if (blind)
    throw new AppError(
      'FAILED_PRECONDITION',
      `collection '${blind.collection}' of model '${blind.modelId}' exists but no embedder is configured for it; refusing to leave it behind (configure the model's embedder address)`,
    );
  return live;
}

/**
 * Reconciles one batch of files with every live collection and the catalogue: unchanged files (same
 * size, mtime, path and content hash everywhere) cost a lookup; a moved or touched file whose content
 * hash is unchanged keeps its vectors (payload re-pointed); new or edited files are embedded by every
 * live model. Every file ends as exactly one outcome; an embedder or store outage throws so the job is
 * retried (the batch is idempotent).
 */
export async function ingestBatch(files: IngestFile[], ctx: IngestContext): Promise<BatchOutcome> {
  const failures: FileFailures = new Map();
  const fail = (path: string, reason: string) => failures.set(path, [...(failures.get(path) ?? []), reason]);
  const work: FileWork[] = [];
  for (const file of files) {
    try {
      if (!ctx.roots.contains(file.path)) {
        fail(file.path, 'outside ASSET_ROOTS');
        continue;
      }
      const st = await stat(file.path);
      if (!st.isFile()) fail(file.path, 'not a regular file');
      else work.push({ file, size: st.size, mtimeMs: Math.floor(st.mtimeMs), actions: [] });
    } catch (err) {
      fail(file.path, `cannot read file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  const live = await liveWriters(ctx);
  const runTarget = await ctx.runTarget?.().catch(() => undefined);
  const ids = work.map((w) => w.file.assetId);
  const byId = (pts: StoredPoint[]) => new Map(pts.map((p) => [p.assetId, p]));
  const existing = await Promise.all(
    live.map(async (l) =>
      ids.length ? byId(await ctx.store.retrieve(l.collection, ids)) : new Map<string, StoredPoint>(),
    ),
  );
  const catalogued = new Map(ids.length ? (await ctx.catalogue.get(ids)).map((e) => [e.assetId, e]) : []);
  const catalogueWrites: CatalogueWrite[] = [];
  const outcome = new Map<string, 'added' | 'changed' | 'moved' | 'unchanged'>();
  const thumbsToCheck: FileWork[] = [];
  const todo: FileWork[] = [];
  for (const w of work) {
    const id = w.file.assetId;
    const entry = catalogued.get(id);
    const points = existing.map((m) => m.get(id));
    const allFresh = points.every(
      (p, i) => fresh(p, w, entry?.contentHash) || (!p && entry !== undefined && live[i]!.collection === runTarget),
    );
    if (!w.file.movedFrom && allFresh && (!entry || entry.path === w.file.path)) {
      outcome.set(id, 'unchanged');
      if (entry) w.hash = entry.contentHash;
      else {
        // Ingested before the catalogue existed: catalogue it (its stored hash, else the file's) without re-embedding.
        const stored = points.find((p) => typeof p?.payload[CONTENT_HASH_KEY] === 'string')?.payload[CONTENT_HASH_KEY];
        w.hash = typeof stored === 'string' ? stored : await readFile(w.file.path).then(contentHash, () => undefined);
        if (w.hash) catalogueWrites.push({ assetId: id, path: w.file.path, contentHash: w.hash });
      }
      thumbsToCheck.push(w);
      continue;
    }
    try {
      w.data = await readFile(w.file.path);
      // The embedders' header checks (the pixel limit is theirs to apply: they report TOO_MANY_PIXELS per file).
      const meta = await inspectImage(w.data, INGEST_LIMITS);
      w.hash = contentHash(w.data);
      const createdAt = points.find((p) => typeof p?.payload.created_at === 'string')?.payload.created_at as
        string | undefined;
      w.payload = {
        asset_id: id,
        path: w.file.path,
        path_hash: createHash('sha256').update(w.file.path).digest('hex'),
        file_size: w.size,
        file_mtime_ms: w.mtimeMs,
        width: meta.width,
        height: meta.height,
        format: meta.format,
        category: basename(dirname(w.file.path)),
        date_taken: exifDateTimeOriginal(meta.exif) ?? new Date(w.mtimeMs).toISOString(),
        created_at: createdAt ?? new Date().toISOString(),
        [CONTENT_HASH_KEY]: w.hash,
      };
      // A point holding this very content keeps its vector (moved or touched file); anything else is embedded.
      w.actions = points.map((p) =>
        fresh(p, w, w.hash) && p?.payload[CONTENT_HASH_KEY] === w.hash
          ? 'keep'
          : p && p.payload[CONTENT_HASH_KEY] === w.hash
            ? 'repoint'
            : 'embed',
      );
      const sameContent = entry?.contentHash === w.hash;
      // Unchanged content that a running re-embedding's target lacks: the run will write it.
      if (sameContent && entry?.path === w.file.path)
        w.actions = w.actions.map((a, i) =>
          a === 'embed' && !points[i] && live[i]!.collection === runTarget ? 'keep' : a,
        );
      outcome.set(
        id,
        w.file.movedFrom
          ? 'moved'
          : !entry && points.every((p) => !p)
            ? 'added'
            : sameContent && !w.actions.includes('embed')
              ? 'unchanged'
              : 'changed',
      );
      // Every readable image is an asset, whether or not each model manages to embed it; written before
      // any vector, so a re-embedding batch that checks afterwards sees the change.
      catalogueWrites.push({ assetId: id, path: w.file.path, contentHash: w.hash });
      // The embedders take the preview where there is one: the same pixels, fewer of them (content already
      // ingested reads its preview; new or edited content gets one now, after the header checks above).
      if (ctx.previews && w.actions.includes('embed'))
        w.embedData = sameContent
          ? await ctx.previews.read(id, w.hash).catch(() => undefined)
          : await previewNow(ctx, w);
      todo.push(w);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      fail(w.file.path, isItemFailure(err) ? err.message : `cannot read the file (${code ?? 'unknown error'})`);
    }
  }
  if (catalogueWrites.length) await ctx.catalogue.upsert(catalogueWrites);

  // Embed first (every live model), then write: a file rejected by any model is written nowhere.
  const vectors: Map<string, UpsertPoint>[] = [];
  for (let i = 0; i < live.length; i++)
    vectors.push(
      await embedForWriter(
        live[i]!,
        todo.filter((w) => w.actions[i] === 'embed'),
        ctx,
        failures,
      ),
    );
  const ok = todo.filter((w) => !failures.has(w.file.path));
  // A preview stays only for content every live model embedded, as before previews were made ahead of embedding.
  for (const w of todo) if (w.preview && failures.has(w.file.path)) await ctx.previews?.remove(w.file.assetId);
  // The re-embedding source first (see IngestContext.writers).
  for (let i = 0; i < live.length; i++) {
    const repoint = ok.filter((w) => w.actions[i] === 'repoint').map((w) => w.file.assetId);
    const old = repoint.length
      ? byId(await ctx.store.retrieve(live[i]!.collection, repoint, { withVectors: true }))
      : new Map();
    const points: UpsertPoint[] = [];
    for (const w of ok) {
      const id = w.file.assetId;
      if (w.actions[i] === 'embed') points.push(vectors[i]!.get(id)!);
      else if (w.actions[i] === 'repoint') {
        const p = old.get(id) as StoredPoint | undefined;
        // The old point's model tags stay: its vector is the same.
        if (p?.vector) points.push({ assetId: id, vector: p.vector, payload: { ...p.payload, ...w.payload! } });
        else points.push(...(await embedForWriter(live[i]!, [w], ctx, failures)).values());
      }
    }
    if (points.length) await ctx.store.upsert(live[i]!.collection, points);
  }
  await makeThumbnails(ctx, [...ok, ...thumbsToCheck]);
  const failedIds = new Set(work.filter((w) => failures.has(w.file.path)).map((w) => w.file.assetId));
  const count = (k: string) => [...outcome].filter(([id, o]) => o === k && !failedIds.has(id)).length;
  return {
    added: count('added'),
    changed: count('changed'),
    moved: count('moved'),
    unchanged: count('unchanged'),
    // One entry per file, however many models refused it.
    failed: [...failures].map(([path, reasons]) => ({ path, reason: reasons.join('; ') })),
  };
}

/**
 * Thumbnails at ingest, so the first view is a file read (a file sharp cannot thumbnail is left to the
 * view), and previews, so re-embedding decodes a 512 px JPEG instead of the original (one that fails is
 * no loss: the original stays the source). The preview is made first and the thumbnail from it where
 * it is large enough: one decode of the original instead of two. Only for files every live model embedded.
 */
async function makeThumbnails(ctx: IngestContext, items: FileWork[]): Promise<void> {
  for (const w of items) {
    if (!w.hash) continue;
    const source = w.data ?? w.file.path;
    let preview = w.preview;
    try {
      // Only a preview made now: one made before previews kept the ICC profile would lose the thumbnail's colours.
      const kept = preview ? undefined : await ctx.previews?.ensureKept(w.file.assetId, w.hash, source);
      if (kept?.status === 'made') preview = kept.data;
    } catch (err) {
      ctx.logger.debug({ err: (err as Error).message, asset_id: w.file.assetId }, 'no preview at ingest');
    }
    try {
      await ctx.thumbnails?.ensure(w.file.assetId, w.hash, source, preview);
    } catch (err) {
      ctx.logger.debug({ err: (err as Error).message, asset_id: w.file.assetId }, 'no thumbnail at ingest');
    }
  }
}
