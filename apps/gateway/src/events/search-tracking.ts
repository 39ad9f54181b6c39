import type { Logger } from '@image-search/service-kit';
import type { AssetPaths } from '../search/asset-paths.js';
import { toAssetView } from '../search/asset-view.js';
import type { SearchFilters, SearchResponse } from '../search/search.service.js';
import type { PairSearch } from '../shadow/pair-search.js';
import type { OnlineMetrics } from './online-metrics.js';
import type { SearchIds } from './search-id.js';
import { teamDraft } from './team-draft.js';

/** A search answer as the API sends it: the service's answer plus the id events refer to. */
export type TrackedResponse = SearchResponse & {
  search_id: string;
  interleaved?: { a: string; b: string } | undefined;
};

/**
 * Gives every search answer a signed search id, counts it in the online metrics once it is sent,
 * and, for users whose bucket lies in INTERLEAVE_BUCKETS, answers text searches with a team-draft
 * interleaving of both models' lists (the events then credit the model that contributed the result).
 */
export class SearchTracking {
  constructor(
    private readonly deps: {
      ids: SearchIds;
      online: OnlineMetrics;
      logger: Logger;
      paths: AssetPaths;
      pair: PairSearch;
      /** Inclusive bucket range answered with interleaved lists; undefined: none. */
      interleave?: { lo: number; hi: number } | undefined;
      deadlineMs: number;
    },
  ) {}

  /** The search-id signer (events check their search id with it). */
  get ids(): SearchIds {
    return this.deps.ids;
  }

  /** The online metrics store. */
  get online(): OnlineMetrics {
    return this.deps.online;
  }

  /**
   * Counts a sent answer, never failing or delaying the request (Redis trouble is logged). An answer
   * the other model gave because the chosen one's embedder failed also counts as an error of the chosen
   * model: otherwise a failing arm's users are all answered by the healthy arm and the ramp's error
   * guardrail never sees the failure.
   */
  recordAnswer(out: SearchResponse): void {
    const chosen = chosenModelOnFallback(out);
    if (chosen !== undefined) this.recordFailure(chosen, out.rollout.bucket);
    this.deps.online
      .recordSearch({
        model: out.model,
        bucket: out.rollout.bucket,
        results: out.results.length,
        latencyMs: out.timing_ms.total,
      })
      .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'online metrics: search not counted'));
  }

  /** Counts a failed search against the model and bucket the router chose for it. */
  recordFailure(model: string, bucket: number): void {
    this.deps.online
      .recordSearch({ model, bucket, results: 0, latencyMs: 0, error: true })
      .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'online metrics: failure not counted'));
  }

  /** The answer with its search id (claims: answering model, bucket, result count, teams). */
  track(out: SearchResponse & { interleaved?: { a: string; b: string }; teams?: string }): TrackedResponse {
    const { teams, ...rest } = out;
    const search_id = this.deps.ids.mint({
      model: out.model,
      bucket: out.rollout.bucket,
      n: out.results.length,
      at: Date.now(),
      teams: out.interleaved && teams !== undefined ? { ...out.interleaved, ranks: teams } : undefined,
    });
    return { ...rest, search_id };
  }

  /** Whether this answer's user is in the interleaving range (first pages only: later pages are not comparable). */
  interleaves(out: SearchResponse, offset: number): boolean {
    const r = this.deps.interleave;
    return r !== undefined && offset === 0 && out.rollout.bucket >= r.lo && out.rollout.bucket <= r.hi;
  }

  /**
   * The answer interleaved (team-draft) with the other model's list for the same query. Team a is
   * the pair's `from` model, b its `to` model, whichever answered. When the other model cannot
   * answer, the original answer is returned as it is (the user never waits on or sees a failure).
   */
  async interleave(
    out: SearchResponse,
    q: { query: string; limit: number; filters?: SearchFilters | undefined; minScore?: number | undefined },
  ): Promise<SearchResponse & { interleaved?: { a: string; b: string }; teams?: string }> {
    const arms = this.deps.pair.arms(out.collection);
    if (!arms || !this.deps.pair.canEmbed(arms.other)) return out;
    let hits;
    try {
      hits = await this.deps.pair.search(arms.other, q, this.deps.deadlineMs);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, model: arms.other.id }, 'interleaving: other arm failed');
      return out;
    }
    const other = hits.map((h) => ({
      asset: toAssetView({ ...h.payload, asset_id: h.payload.asset_id ?? h.assetId }, this.deps.paths),
      score: h.score,
    }));
    const [a, b] = arms.primaryIsFrom ? [arms.primary, arms.other] : [arms.other, arms.primary];
    const [listA, listB] = arms.primaryIsFrom ? [out.results, other] : [other, out.results];
    const merged = teamDraft(listA, listB, q.limit, (r) => r.asset.id);
    this.deps.online
      .recordInterleaved(a.id, b.id)
      .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'online metrics: interleaving not counted'));
    return {
      ...out,
      results: merged.items,
      total: merged.items.length,
      interleaved: { a: a.id, b: b.id },
      teams: merged.teams,
    };
  }
}

/** The model the router chose when an answer comes from the other one because the chosen embedder failed. */
export function chosenModelOnFallback(out: SearchResponse): string | undefined {
  if (out.rollout.reason === 'fallback:target_embedder_error') return out.rollout.to ?? undefined;
  if (out.rollout.reason === 'fallback:source_embedder_error') return out.rollout.from;
  return undefined;
}
