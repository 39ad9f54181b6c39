import type { EmbedderApi } from '@image-search/embedder-client';
import type { RegisteredModel } from '@image-search/model-registry';
import type { SearchHit, VectorStore } from '@image-search/vector-store';
import { toPayloadFilter, type SearchFilters } from '../search/search.service.js';
import type { QueryCache } from '../search/query-cache.js';

/** The two arms of the rollout pair, seen from the collection that answered a search. */
export interface PairArms {
  primary: RegisteredModel;
  other: RegisteredModel;
  /** Whether the answering model is the pair's `from` model. */
  primaryIsFrom: boolean;
}

/**
 * A text search on the other model of the rollout pair, outside the user's routing: its embedder
 * (query-embedding cache keyed by registry id), then its collection, with the user's filters. Used
 * by the shadow comparison and by interleaving.
 */
export class PairSearch {
  constructor(
    private readonly deps: {
      /** The serving pair now (it moves on when a model is retired); no `to` between migrations. */
      pair: () => { from: RegisteredModel; to?: RegisteredModel | undefined };
      embedders: ReadonlyMap<string, EmbedderApi>;
      store: VectorStore;
      cache?: QueryCache | undefined;
    },
  ) {}

  /** The answering model and the other pair member for this collection, or undefined when not in the pair. */
  arms(collection: string): PairArms | undefined {
    const { from, to } = this.deps.pair();
    if (!to) return undefined;
    if (collection === from.collection) return { primary: from, other: to, primaryIsFrom: true };
    if (collection === to.collection) return { primary: to, other: from, primaryIsFrom: false };
    return undefined;
  }

  /** Whether the model has an embedder client here. */
  canEmbed(model: RegisteredModel): boolean {
    return this.deps.embedders.has(model.id);
  }

  /** Embeds `query` with `model` and searches its collection (throws on any failure). */
  async search(
    model: RegisteredModel,
    q: { query: string; limit: number; filters?: SearchFilters | undefined; minScore?: number | undefined },
    deadlineMs: number,
  ): Promise<SearchHit[]> {
    const embedder = this.deps.embedders.get(model.id);
    if (!embedder) throw new Error(`${model.id}: no embedder configured`);
    let vector = this.deps.cache?.get(model.id, q.query);
    if (!vector) {
      const [item] = await embedder.embedTexts([q.query], { deadlineMs });
      if (!item?.ok) throw new Error(item ? `${item.reason}: ${item.message}` : 'no result');
      vector = item.vector;
      this.deps.cache?.set(model.id, q.query, vector);
    }
    const filter = toPayloadFilter(q.filters);
    return this.deps.store.search(model.collection, {
      vector,
      limit: q.limit,
      ...(filter ? { filter } : {}),
      ...(q.minScore !== undefined ? { minScore: q.minScore } : {}),
    });
  }
}
