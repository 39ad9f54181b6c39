import { inspectImage, isItemFailure } from '@image-search/image-formats';
import type { UpsertPoint } from '@image-search/vector-store';
import type { FileWork, IngestContext, IngestWriter } from './ingest.types.js';

/** Per file path, the reasons it failed (one file, however many models refused it). */
export type FileFailures = Map<string, string[]>;

/**
 * Embeds these files with one live writer's model, in chunks of its embedder's limits, and returns
 * the points to upsert (payload tagged with the model and fingerprint). Items the embedder refuses are
 * added to `failures`; the model's fingerprint is checked first, so a refused model costs no inference.
 */
export async function embedForWriter(
  writer: IngestWriter,
  items: FileWork[],
  ctx: Pick<IngestContext, 'guard' | 'deadlineMs'>,
  failures: FileFailures,
): Promise<Map<string, UpsertPoint>> {
  const out = new Map<string, UpsertPoint>();
  if (items.length === 0 || !writer.embedder) return out;
  const api = writer.embedder;
  const info = await api.info({ deadlineMs: ctx.deadlineMs ?? 10_000 });
  const tags = await ctx.guard.tags({
    modelId: writer.modelId,
    collection: writer.collection,
    fingerprint: info.fingerprint,
    pinned: writer.fingerprint,
  });
  const chunk = Math.max(1, Math.min(info.maxBatchSize || 16, info.maxRequestItems || 16));
  const refuse = (w: FileWork, message: string) =>
    failures.set(w.file.path, [...(failures.get(w.file.path) ?? []), `${writer.modelId} embedder: ${message}`]);
  // An original sent as its preview is still held to this embedder's limits, refused in the embedder's words.
  const limits = {
    maxBytes: info.maxImageBytes || Number.MAX_SAFE_INTEGER,
    maxPixels: info.maxImagePixels || Number.MAX_SAFE_INTEGER,
  };
  const sendable: FileWork[] = [];
  for (const w of items) {
    if (w.embedData && w.data)
      try {
        await inspectImage(w.data, limits);
      } catch (err) {
        if (!isItemFailure(err)) throw err;
        refuse(w, err.message);
        continue;
      }
    sendable.push(w);
  }
  for (let i = 0; i < sendable.length; i += chunk) {
    const part = sendable.slice(i, i + chunk);
    const res = await api.embedImages(
      part.map((w) => ({ data: w.embedData ?? w.data!, id: w.file.assetId })),
      { deadlineMs: ctx.deadlineMs ?? 60_000 },
    );
    res.forEach((r, j) => {
      const w = part[j]!;
      if (r.ok)
        out.set(w.file.assetId, { assetId: w.file.assetId, vector: r.vector, payload: { ...w.payload!, ...tags } });
      else refuse(w, r.message);
    });
  }
  return out;
}

/**
 * Makes the preview of new or edited content before it is embedded, so every model decodes 512 px
 * instead of the original. Undefined where none is made (small, alpha, previews off) or it fails: the
 * original is sent then, and a damaged one is refused by the embedders in their words, as without previews.
 * A render over MAX_DECODE_MS (killed in the gateway's decode process) rejects with DECODE_TIMEOUT: the file fails.
 */
export async function previewNow(
  ctx: Pick<IngestContext, 'previews' | 'logger'>,
  w: FileWork,
): Promise<Buffer | undefined> {
  if (!ctx.previews || !w.hash || !w.data) return undefined;
  try {
    const kept = await ctx.previews.ensureKept(w.file.assetId, w.hash, w.data);
    if (kept.status === 'none') return undefined;
    // Only one made now goes to the thumbnail: an older one may predate previews keeping the ICC profile.
    if (kept.status === 'made') return (w.preview = kept.data);
    return await ctx.previews.read(w.file.assetId, w.hash);
  } catch (err) {
    // Over MAX_DECODE_MS: the embedders would spend their budget on it too; it fails here, in their words.
    if (isItemFailure(err) && err.reason === 'DECODE_TIMEOUT') throw err;
    ctx.logger.debug({ err: (err as Error).message, asset_id: w.file.assetId }, 'no preview at ingest');
    return undefined;
  }
}
