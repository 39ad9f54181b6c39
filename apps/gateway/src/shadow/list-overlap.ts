/** How alike two ranked result lists are (asset ids, best first). */

/** Depth both comparisons look at. */
export const OVERLAP_DEPTH = 10;

/** Jaccard overlap of the first `depth` ids: |A ∩ B| / |A ∪ B|; two empty lists agree (1). */
export function overlapAt(a: readonly string[], b: readonly string[], depth = OVERLAP_DEPTH): number {
  const sa = new Set(a.slice(0, depth));
  const sb = new Set(b.slice(0, depth));
  if (sa.size === 0 && sb.size === 0) return 1;
  let both = 0;
  for (const id of sa) if (sb.has(id)) both++;
  return both / (sa.size + sb.size - both);
}

/**
 * Rank-biased overlap (Webber, Moffat and Zobel 2010) truncated at `depth`: the p-weighted mean over
 * d = 1..depth of the agreement |A[:d] ∩ B[:d]| / d, normalised by the weights' sum so identical lists
 * score 1 and disjoint ones 0. Unlike Jaccard it cares about order: a swap at the top costs more than
 * one at rank 10. Two empty lists agree (1); one empty list scores 0.
 */
export function rankBiasedOverlap(a: readonly string[], b: readonly string[], p = 0.9, depth = OVERLAP_DEPTH): number {
  const k = Math.min(depth, Math.max(a.length, b.length));
  if (k === 0) return 1;
  const seenA = new Set<string>();
  const seenB = new Set<string>();
  let common = 0;
  let sum = 0;
  let weights = 0;
  for (let d = 1; d <= k; d++) {
    const x = a[d - 1];
    const y = b[d - 1];
    if (x !== undefined) {
      if (seenB.has(x)) common++;
      seenA.add(x);
    }
    if (y !== undefined) {
      // seenA already holds x, so a match at the same rank counts once here.
      if (seenA.has(y)) common++;
      seenB.add(y);
    }
    const w = p ** (d - 1);
    sum += w * (common / d);
    weights += w;
  }
  return sum / weights;
}
