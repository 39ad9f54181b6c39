import type { SearchHit } from '@image-search/vector-store';

/** The constant of reciprocal rank fusion (Cormack et al. 2009): a hit at rank r adds 1 / (k + r). */
export const RRF_K = 60;

/** One fused hit: the hit, its fused score and which input list it came from. */
export interface FusedHit {
  hit: SearchHit;
  score: number;
  list: number;
}

/**
 * Reciprocal rank fusion of ranked lists: only ranks are used, so scores of different models (different
 * embedding spaces) are never compared. An asset in several lists sums its contributions; ties keep the
 * earlier list first. Written here because it is a few lines over our own hit type.
 */
export function reciprocalRankFusion(lists: readonly SearchHit[][], k = RRF_K): FusedHit[] {
  const byId = new Map<string, FusedHit>();
  lists.forEach((list, li) =>
    list.forEach((hit, rank) => {
      const add = 1 / (k + rank + 1);
      const seen = byId.get(hit.assetId);
      if (seen) seen.score += add;
      else byId.set(hit.assetId, { hit, score: add, list: li });
    }),
  );
  return [...byId.values()].sort((a, b) => b.score - a.score || a.list - b.list);
}

/** The response's `blend` field: how the page was made from two models' results. */
export interface BlendField {
  method: 'rrf';
  k: number;
  /** The `to` model's coverage (against the catalogue) when the search was blended. */
  coverage: number;
  /** Per model: its collection and how many of this page's results it contributed. */
  models: { model: string; collection: string; results: number }[];
}
