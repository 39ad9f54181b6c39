// The search API's shapes and pure helpers: options, the response body (the OpenAPI SearchResponse),
// its degraded field, and the store filter built from the API's filters.
import type { PayloadFilter } from '@image-search/vector-store';
import type { RolloutSubject } from '@image-search/rollout-router';
import type { AssetView } from './asset-view.js';
import type { BlendField } from './blend.js';

/** Filters a search accepts (all optional). */
export interface SearchFilters {
  category?: string | string[] | undefined;
  date_from?: string | undefined;
  date_to?: string | undefined;
}

/** One page of search options. */
export interface SearchOptions {
  limit: number;
  offset: number;
  filters?: SearchFilters | undefined;
  minScore?: number | undefined;
  subject: RolloutSubject;
  /** Aborted when the client goes away: the embedder call is cancelled instead of finishing for nobody. */
  signal?: AbortSignal | undefined;
}

/** A search response body (the OpenAPI SearchResponse). */
export interface SearchResponse {
  results: { asset: AssetView; score: number }[];
  total: number;
  query: string | null;
  /** Registry id of the model that answered. */
  model: string;
  /** Its family (clip | siglip): what the seed's two-value `model` field said. */
  family: string;
  collection: string;
  rollout: {
    bucket: number;
    reason: string;
    bucket_source: string;
    fallback: boolean;
    from: string;
    to: string | null;
  };
  timing_ms: { embed: number; search: number; total: number };
  cached_embedding: boolean;
  cached_results: boolean;
  /** Set while an embedder is down: which models cannot answer now, and which model answered instead. */
  degraded: { unavailable: string[]; answered_by: string; message: string } | null;
  /**
   * COVERAGE_MODE=blend: the `to` model is below its coverage minimum, so this page fuses its results
   * (assets it covers) with the `from` model's over the rest by reciprocal rank fusion; scores are then
   * RRF scores. Absent otherwise.
   */
  blend?: BlendField;
}

/** The response's `degraded` field: null while every configured embedder answers. */
export function degradedField(unavailable: readonly string[], answeredBy: string): SearchResponse['degraded'] {
  const down = [...new Set(unavailable)].filter((m) => m !== answeredBy);
  if (down.length === 0) return null;
  return {
    unavailable: down,
    answered_by: answeredBy,
    message: `the ${down.join(' and ')} embedder${down.length > 1 ? 's are' : ' is'} unavailable (restarting or down); this answer comes from ${answeredBy}`,
  };
}

/** Builds the store filter from the API's filters. */
export function toPayloadFilter(f: SearchFilters | undefined, excludeId?: string): PayloadFilter | undefined {
  const must: NonNullable<PayloadFilter['must']> = [];
  if (f?.category !== undefined) {
    const cats = Array.isArray(f.category) ? f.category : [f.category];
    must.push(
      cats.length === 1 ? { key: 'category', match: { value: cats[0]! } } : { key: 'category', match: { any: cats } },
    );
  }
  if (f?.date_from !== undefined || f?.date_to !== undefined) {
    must.push({
      key: 'date_taken',
      range: { ...(f.date_from ? { gte: f.date_from } : {}), ...(f.date_to ? { lte: f.date_to } : {}) },
    });
  }
  const must_not: NonNullable<PayloadFilter['must_not']> = excludeId
    ? [{ key: 'asset_id', match: { value: excludeId } }]
    : [];
  if (must.length === 0 && must_not.length === 0) return undefined;
  return { ...(must.length ? { must } : {}), ...(must_not.length ? { must_not } : {}) };
}
