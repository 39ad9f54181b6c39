import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import sharp from 'sharp';
import { AppError, type Logger } from '@image-search/service-kit';
import type { EmbedderApi } from '@image-search/embedder-client';
import { CONTENT_HASH_KEY, contentHash, type AssetCatalogue, type CatalogueWrite } from '@image-search/asset-catalogue';
import type { AssetPayload, FingerprintGuard, StoredPoint, UpsertPoint, VectorStore } from '@image-search/vector-store';
import type { AssetRoots } from './asset-roots.js';
import { exifDateTimeOriginal } from './exif-date.js';

/** The asset id of a real absolute path: first 32 hex chars of sha256(path). */
export function assetIdOf(realPath: string): string {
  return createHash('sha256').update(realPath).digest('hex').slice(0, 32);
}

/** What one batch did. */
export interface BatchOutcome {
  done: number;
  skipped: number;
  failed: { path: string; reason: string }[];
}

/** Everything a batch needs (the store, both embedders, the collections, the roots). */
export interface IngestContext {
  store: VectorStore;
  clip: EmbedderApi;
  siglip: EmbedderApi | undefined;
  clipCollection: string;
  siglipCollection: string;
  roots: AssetRoots;
  logger: Logger;
  deadlineMs?: number;
  /** The registered model of each collection (its id and pinned fingerprint), for the vectors' tags. */
  models: { clip: WriterModel; siglip: WriterModel };
  /** Refuses to write vectors whose embedder's fingerprint differs from the collection's. */
  guard: FingerprintGuard;
  /** Which assets exist (ids, paths, content hashes), whatever each model's collection holds. */
  catalogue: AssetCatalogue;
}

/** The registered model a collection's writer embeds with. */
export interface WriterModel {
  id: string;
  fingerprint?: string | undefined;
}

interface FileWork {
  path: string;
  assetId: string;
  size: number;
  mtimeMs: number;
  needClip: boolean;
  needSiglip: boolean;
  data?: Buffer;
  payload?: UpsertPoint['payload'];
}

const unchanged = (p: StoredPoint | undefined, size: number, mtimeMs: number) =>
  p !== undefined && p.payload['file_size'] === size && p.payload['file_mtime_ms'] === mtimeMs;

/**
 * Ingests one batch of files: skips files unchanged since their last ingest (size + mtime),
 * embeds the rest with CLIP and, when the SigLIP collection exists, with SigLIP too (dual write),
 * and upserts them. Bad files are reported per file; an embedder or store outage throws so the
 * job is retried (the batch is idempotent).
 */
export async function ingestBatch(paths: string[], ctx: IngestContext): Promise<BatchOutcome> {
  const failed: BatchOutcome['failed'] = [];
  const work: FileWork[] = [];
  for (const path of paths) {
    try {
      if (!ctx.roots.contains(path)) {
        failed.push({ path, reason: 'outside ASSET_ROOTS' });
        continue;
      }
      const st = await stat(path);
      if (!st.isFile()) {
        failed.push({ path, reason: 'not a regular file' });
        continue;
      }
      work.push({
        path,
        assetId: assetIdOf(path),
        size: st.size,
        mtimeMs: Math.floor(st.mtimeMs),
        needClip: true,
        needSiglip: false,
      });
    } catch (err) {
      failed.push({
        path,
        reason: `cannot read file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      });
    }
  }
  const ids = work.map((w) => w.assetId);
  const siglipOn = await ctx.store.exists(ctx.siglipCollection);
  if (siglipOn && !ctx.siglip)
    throw new AppError(
      'FAILED_PRECONDITION',
      `SigLIP collection '${ctx.siglipCollection}' exists but no SigLIP embedder is configured; refusing to write CLIP only (set SIGLIP_EMBEDDER_URL)`,
    );
  const byId = (pts: StoredPoint[]) => new Map(pts.map((p) => [p.assetId, p]));
  const clipExisting = ids.length
    ? byId(await ctx.store.retrieve(ctx.clipCollection, ids))
    : new Map<string, StoredPoint>();
  const siglipExisting =
    siglipOn && ids.length ? byId(await ctx.store.retrieve(ctx.siglipCollection, ids)) : new Map<string, StoredPoint>();
  const catalogued = new Set(ids.length ? (await ctx.catalogue.get(ids)).map((e) => e.assetId) : []);
  const catalogueWrites: CatalogueWrite[] = [];
  let skipped = 0;
  const todo: FileWork[] = [];
  for (const w of work) {
    const prev = clipExisting.get(w.assetId);
    w.needClip = !unchanged(prev, w.size, w.mtimeMs);
    w.needSiglip = siglipOn && !unchanged(siglipExisting.get(w.assetId), w.size, w.mtimeMs);
    if (!w.needClip && !w.needSiglip) {
      skipped++;
      // Ingested before the catalogue existed: catalogue it (its stored hash, else the file's) without re-embedding.
      if (!catalogued.has(w.assetId)) {
        const stored = prev?.payload[CONTENT_HASH_KEY];
        const hash = typeof stored === 'string' ? stored : await readFile(w.path).then(contentHash, () => undefined);
        if (hash) catalogueWrites.push({ assetId: w.assetId, path: w.path, contentHash: hash });
      }
      continue;
    }
    try {
      w.data = await readFile(w.path);
      const meta = await sharp(w.data, { failOn: 'none' }).metadata();
      if (!meta.width || !meta.height) throw new Error('no image dimensions');
      const hash = contentHash(w.data);
      const createdAt =
        (prev?.payload.created_at as string | undefined) ??
        (siglipExisting.get(w.assetId)?.payload.created_at as string | undefined) ??
        new Date().toISOString();
      w.payload = {
        asset_id: w.assetId,
        path: w.path,
        path_hash: createHash('sha256').update(w.path).digest('hex'),
        file_size: w.size,
        file_mtime_ms: w.mtimeMs,
        width: meta.autoOrient?.width ?? meta.width,
        height: meta.autoOrient?.height ?? meta.height,
        format: meta.format ?? 'unknown',
        category: basename(dirname(w.path)),
        date_taken: exifDateTimeOriginal(meta.exif) ?? new Date(w.mtimeMs).toISOString(),
        created_at: createdAt,
        [CONTENT_HASH_KEY]: hash,
      } satisfies AssetPayload;
      // Every readable image is an asset, whether or not each model manages to embed it.
      catalogueWrites.push({ assetId: w.assetId, path: w.path, contentHash: hash });
      todo.push(w);
    } catch (err) {
      failed.push({ path: w.path, reason: `not a readable image (${(err as Error).message})` });
    }
  }
  if (catalogueWrites.length) await ctx.catalogue.upsert(catalogueWrites);
  const tagsOf = new Map<string, { model_id: string; fingerprint: string }>();
  const embedInto = async (
    api: EmbedderApi,
    items: FileWork[],
    model: 'clip' | 'siglip',
  ): Promise<Map<string, Float32Array>> => {
    const out = new Map<string, Float32Array>();
    if (items.length === 0) return out;
    const info = await api.info({ deadlineMs: ctx.deadlineMs ?? 10_000 });
    // Checked before embedding: a refused model costs no inference.
    const m = ctx.models[model];
    const collection = model === 'clip' ? ctx.clipCollection : ctx.siglipCollection;
    tagsOf.set(
      model,
      await ctx.guard.tags({ modelId: m.id, collection, fingerprint: info.fingerprint, pinned: m.fingerprint }),
    );
    const chunk = Math.max(1, Math.min(info.maxBatchSize || 16, info.maxRequestItems || 16));
    for (let i = 0; i < items.length; i += chunk) {
      const part = items.slice(i, i + chunk);
      const res = await api.embedImages(
        part.map((w) => ({ data: w.data!, id: w.assetId })),
        { deadlineMs: ctx.deadlineMs ?? 60_000 },
      );
      res.forEach((r, j) => {
        const w = part[j]!;
        if (r.ok) out.set(w.assetId, r.vector);
        else failed.push({ path: w.path, reason: `${model} embedder: ${r.reason} ${r.message}` });
      });
    }
    return out;
  };
  // SigLIP first: if CLIP then fails, the retry sees SigLIP unchanged and skips it.
  const siglipVecs = siglipOn
    ? await embedInto(
        ctx.siglip!,
        todo.filter((w) => w.needSiglip),
        'siglip',
      )
    : new Map<string, Float32Array>();
  const clipVecs = await embedInto(
    ctx.clip,
    todo.filter((w) => w.needClip),
    'clip',
  );
  const okIds = new Set<string>();
  const failedPaths = new Set(failed.map((f) => f.path));
  for (const w of todo) if (!failedPaths.has(w.path)) okIds.add(w.assetId);
  const siglipPoints = todo
    .filter((w) => okIds.has(w.assetId) && w.needSiglip)
    .map((w) => ({
      assetId: w.assetId,
      vector: siglipVecs.get(w.assetId)!,
      payload: { ...w.payload!, ...tagsOf.get('siglip') },
    }));
  const clipPoints = todo
    .filter((w) => okIds.has(w.assetId) && w.needClip)
    .map((w) => ({
      assetId: w.assetId,
      vector: clipVecs.get(w.assetId)!,
      payload: { ...w.payload!, ...tagsOf.get('clip') },
    }));
  if (siglipPoints.length) await ctx.store.upsert(ctx.siglipCollection, siglipPoints);
  if (clipPoints.length) await ctx.store.upsert(ctx.clipCollection, clipPoints);
  return { done: okIds.size, skipped, failed };
}
