import { AppError, isAppError } from '@image-search/service-kit';
import type { VectorStore } from './vector-store.port.js';

/** The payload keys every written vector carries: which registered model made it, and that model's fingerprint. */
export const MODEL_ID_KEY = 'model_id';
export const FINGERPRINT_KEY = 'fingerprint';

/** Who is about to write vectors into a collection. */
export interface VectorWriter {
  /** The registered model's id. */
  modelId: string;
  collection: string;
  /** What the writer's embedder reports in Info (undefined: an embedder too old to say). */
  fingerprint: string | undefined;
  /** The fingerprint pinned in the model registry, if any. */
  pinned?: string | undefined;
}

/** The model ids and fingerprints found on a sample of a collection's vectors. */
export interface CollectionTags {
  /** Distinct (model id, fingerprint) pairs among the tagged vectors sampled, most frequent first. */
  tagged: { modelId: string | null; fingerprint: string; count: number }[];
  /** Sampled vectors that carry no fingerprint (written before fingerprints existed). */
  untagged: number;
  sampled: number;
}

/** Reads the tags of up to `sample` vectors of a collection (empty when it does not exist). */
export async function sampleCollectionTags(
  store: VectorStore,
  collection: string,
  sample = 64,
): Promise<CollectionTags> {
  let ids: string[];
  try {
    ids = (await store.scrollIds(collection, { limit: sample })).assetIds;
  } catch (err) {
    if (isAppError(err, 'NOT_FOUND')) return { tagged: [], untagged: 0, sampled: 0 };
    throw err;
  }
  const points = ids.length ? await store.retrieve(collection, ids) : [];
  const counts = new Map<string, { modelId: string | null; fingerprint: string; count: number }>();
  let untagged = 0;
  for (const p of points) {
    const fp = p.payload[FINGERPRINT_KEY];
    if (typeof fp !== 'string' || fp === '') {
      untagged++;
      continue;
    }
    const mid = typeof p.payload[MODEL_ID_KEY] === 'string' ? (p.payload[MODEL_ID_KEY] as string) : null;
    const key = `${mid}\u0000${fp}`;
    const c = counts.get(key) ?? { modelId: mid, fingerprint: fp, count: 0 };
    c.count++;
    counts.set(key, c);
  }
  return { tagged: [...counts.values()].sort((a, b) => b.count - a.count), untagged, sampled: points.length };
}

const short = (fp: string) => (fp.length > 19 ? `${fp.slice(0, 19)}…` : fp);

/**
 * Refuses writes that would mix vectors of different models in one collection: the writer's
 * embedder must report the fingerprint pinned in the registry (when pinned) and the one the
 * collection's vectors carry (when it holds tagged vectors). A passing check is remembered per
 * collection and fingerprint, so each batch costs nothing after the first.
 */
export class FingerprintGuard {
  private readonly passed = new Set<string>();

  constructor(
    private readonly store: VectorStore,
    private readonly opts: { sample?: number } = {},
  ) {}

  /** The payload tags for the writer's vectors; FAILED_PRECONDITION naming both fingerprints when they differ. */
  async tags(w: VectorWriter): Promise<{ model_id: string; fingerprint: string }> {
    const fp = w.fingerprint ?? '';
    const key = `${w.collection}\u0000${w.modelId}\u0000${fp}`;
    if (!this.passed.has(key)) {
      await this.check(w, fp);
      this.passed.add(key);
    }
    return { model_id: w.modelId, fingerprint: fp };
  }

  /** Forgets passed checks (after a collection was dropped and recreated, for example). */
  reset(): void {
    this.passed.clear();
  }

  private async check(w: VectorWriter, fp: string): Promise<void> {
    const refuse = (expected: string, where: string, extra: Record<string, unknown> = {}) =>
      new AppError(
        'FAILED_PRECONDITION',
        `refusing to write to collection '${w.collection}': the embedder of model '${w.modelId}' reports fingerprint ${fp ? short(fp) : '(none: an embedder older than fingerprints)'}, but ${where} ${short(expected)}; vectors of different models must not share a collection (deploy the right model, or register the new one with its own collection and migrate with tools:reembed start --from ${w.modelId} --to <new model>)`,
        {
          details: {
            collection: w.collection,
            model: w.modelId,
            embedder_fingerprint: fp || null,
            expected_fingerprint: expected,
            ...extra,
          },
        },
      );
    if (w.pinned && w.pinned !== fp) throw refuse(w.pinned, 'the model registry pins');
    const found = await sampleCollectionTags(this.store, w.collection, this.opts.sample ?? 64);
    const other = found.tagged.find((t) => t.fingerprint !== fp || (t.modelId !== null && t.modelId !== w.modelId));
    if (other)
      throw refuse(
        other.fingerprint,
        `the collection holds vectors${other.modelId && other.modelId !== w.modelId ? ` of model '${other.modelId}'` : ''} with fingerprint`,
        { collection_model: other.modelId },
      );
  }
}
