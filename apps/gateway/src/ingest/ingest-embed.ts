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
  for (let i = 0; i < items.length; i += chunk) {
    const part = items.slice(i, i + chunk);
    const res = await api.embedImages(
      part.map((w) => ({ data: w.embedData ?? w.data!, id: w.file.assetId })),
      { deadlineMs: ctx.deadlineMs ?? 60_000 },
    );
    res.forEach((r, j) => {
      const w = part[j]!;
      if (r.ok)
        out.set(w.file.assetId, { assetId: w.file.assetId, vector: r.vector, payload: { ...w.payload!, ...tags } });
      else
        failures.set(w.file.path, [...(failures.get(w.file.path) ?? []), `${writer.modelId} embedder: ${r.message}`]);
    });
  }
  return out;
}
