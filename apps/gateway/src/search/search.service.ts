import { AppError, isAppError } from '@image-search/service-kit';
import { MAX_SEARCH_WINDOW, type SearchHit, type VectorStore } from '@image-search/vector-store';
import type { RolloutDecision, RolloutRouter, RolloutSubject } from '@image-search/rollout-router';
import type { AssetPaths } from './asset-paths.js';
import { degradedField, toPayloadFilter, type SearchOptions, type SearchResponse } from './search.types.js';
import { reciprocalRankFusion, RRF_K, type BlendField } from './blend.js';
import { toAssetView } from './asset-view.js';
import type { EmbeddingService, EmbedOutcome } from './embedding.service.js';
import type { GatewayMetrics } from '../metrics.js';
import type { ResultCache } from './query-cache.js';
import type { CoverageSnapshot } from '@image-search/rollout-router';
import type { PointReader } from './point-reader.js';

export { toPayloadFilter, degradedField } from './search.types.js';
export type { SearchFilters, SearchOptions, SearchResponse } from './search.types.js';

/** Text, image and similar-asset search over the routed collection. */
export class SearchService {
  constructor(
    private readonly deps: {
      router: RolloutRouter;
      embedding: EmbeddingService;
      store: VectorStore;
      points: PointReader;
      metrics: GatewayMetrics;
      results?: ResultCache<SearchResponse>;
      coverage?: () => CoverageSnapshot;
      /** Shows hits' paths relative to their asset root. */
      paths: AssetPaths;
    },
  ) {}

  /** Routes, then answers from the result cache, or embeds the text (embedding cache) and searches. */
  async text(query: string, opts: SearchOptions): Promise<SearchResponse> {
    const t0 = performance.now();
    const routed = this.route(opts.subject);
    const cache = this.deps.results;
    const keyFor = (d: RolloutDecision) => {
      const cov = this.deps.coverage?.();
      const points = cov ? (d.role === 'to' ? cov.toPoints : cov.fromPoints) : -1;
      return cache!.key({
        model: d.model,
        family: d.family,
        collection: d.collection,
        points,
        query,
        limit: opts.limit,
        offset: opts.offset,
        filters: opts.filters,
        minScore: opts.minScore,
      });
    };
    if (cache?.enabled) {
      const hit = cache.get(keyFor(routed));
      this.deps.metrics.resultCache.inc({ model: routed.model, result: hit ? 'hit' : 'miss' });
      if (hit) {
        this.deps.metrics.decisions.inc({ model: routed.model, reason: routed.reason });
        this.deps.metrics.results.observe({ model: routed.model, kind: 'text' }, hit.results.length);
        const total = round(performance.now() - t0);
        // Same results; this request's own bucket, reason and timing.
        return {
          ...hit,
          rollout: {
            ...hit.rollout,
            bucket: routed.bucket,
            reason: routed.reason,
            bucket_source: routed.bucketSource,
            // A gate fallback (e.g. coverage) is decided before the cache, so the cached answer may be its.
            fallback: routed.reason.startsWith('fallback:'),
          },
          timing_ms: { embed: 0, search: 0, total },
          cached_embedding: true,
          cached_results: true,
          degraded: degradedField(this.deps.embedding.unavailableModels(), hit.model),
        };
      }
    }
    if (routed.blend)
      return this.blended('text', query, routed, opts, t0, (d) => this.deps.embedding.embedText(d, query, opts.signal));
    const e = await this.deps.embedding.embedText(routed, query, opts.signal);
    const out = await this.finish('text', query, e.vector, e.decision, opts, t0, performance.now(), e.cached, e.failed);
    // Only answers served by the routed model are cached, so a fallback answer never outlives the outage.
    if (cache?.enabled && e.decision.model === routed.model && !out.rollout.fallback)
      cache.set(keyFor(e.decision), out);
    return out;
  }

  /** Routes, embeds the uploaded image and searches. */
  async image(data: Uint8Array, opts: SearchOptions): Promise<SearchResponse> {
    const t0 = performance.now();
    const routed = this.route(opts.subject);
    if (routed.blend)
      return this.blended('image', null, routed, opts, t0, (d) => this.deps.embedding.embedImage(d, data, opts.signal));
    const e = await this.deps.embedding.embedImage(routed, data, opts.signal);
    return this.finish('image', null, e.vector, e.decision, opts, t0, performance.now(), false, e.failed);
  }

  /** Searches with the asset's own stored vector in the routed collection (404 when it has none there). */
  async similar(assetId: string, opts: SearchOptions): Promise<SearchResponse> {
    const t0 = performance.now();
    const routed = this.route(opts.subject);
    // A stored vector lives in one space: while the `to` model is partial, similar uses the `from` model's.
    const d = routed.blend ? this.deps.router.fallback(routed, 'target_coverage_below_minimum') : routed;
    const [point] = await this.storeCall(d, () => this.deps.points.get(d.collection, [assetId], { withVectors: true }));
    if (!point?.vector) {
      throw new AppError(
        'NOT_FOUND',
        `asset ${assetId} has no vector in collection '${d.collection}' (model ${d.model}); it was never ingested${d.role === 'to' ? ' or not re-embedded yet' : ''}`,
        {
          details: {
            field: 'asset_id',
            reason: 'no_vector_in_routed_collection',
            collection: d.collection,
            model: d.model,
          },
        },
      );
    }
    return this.finish('similar', null, point.vector, d, opts, t0, performance.now(), false, [], assetId);
  }

  /**
   * COVERAGE_MODE=blend below the coverage minimum: the query is embedded by both models; the `to`
   * model's hits (assets it covers) and the `from` model's hits over assets the `to` collection lacks are
   * fused by reciprocal rank. When the `to` embedder fails the answer is the `from` model's, unblended.
   */
  private async blended(
    kind: string,
    query: string | null,
    routed: RolloutDecision,
    opts: SearchOptions,
    t0: number,
    embed: (d: RolloutDecision) => Promise<EmbedOutcome>,
  ): Promise<SearchResponse> {
    const fromDecision = this.deps.router.fallback(routed, 'target_coverage_below_minimum');
    const [eTo, eFrom] = await Promise.all([embed({ ...routed, blend: undefined }), embed(fromDecision)]);
    const tEmbed = performance.now();
    if (eTo.decision.role !== 'to')
      return this.finish(kind, query, eTo.vector, eTo.decision, opts, t0, tEmbed, eTo.cached, eTo.failed);
    const window = Math.min(MAX_SEARCH_WINDOW, opts.offset + opts.limit);
    const filter = toPayloadFilter(opts.filters);
    const params = (vector: Float32Array, limit: number) => ({
      vector,
      limit,
      offset: 0,
      ...(filter ? { filter } : {}),
      ...(opts.minScore !== undefined ? { minScore: opts.minScore } : {}),
    });
    const [toHits, fromHits] = await Promise.all([
      this.storeCall(routed, () => this.deps.store.search(routed.collection, params(eTo.vector, window))),
      // Twice the window: the ones the `to` collection covers are dropped, the rest must still fill it.
      this.storeCall(fromDecision, () =>
        this.deps.store.search(fromDecision.collection, params(eFrom.vector, Math.min(MAX_SEARCH_WINDOW, window * 2))),
      ),
    ]);
    const covered = new Set(
      fromHits.length
        ? (
            await this.deps.points.get(
              routed.collection,
              fromHits.map((h) => h.assetId),
            )
          ).map((p) => p.assetId)
        : [],
    );
    const rest = fromHits.filter((h) => !covered.has(h.assetId)).slice(0, window);
    const page = reciprocalRankFusion([toHits, rest]).slice(opts.offset, opts.offset + opts.limit);
    const blend: BlendField = {
      method: 'rrf',
      k: RRF_K,
      coverage: routed.blend!.coverage,
      models: [
        { model: routed.model, collection: routed.collection, results: page.filter((f) => f.list === 0).length },
        {
          model: fromDecision.model,
          collection: fromDecision.collection,
          results: page.filter((f) => f.list === 1).length,
        },
      ],
    };
    this.deps.metrics.blended.inc({ to: routed.model, from: fromDecision.model });
    return this.respond(
      kind,
      query,
      routed,
      page.map((f) => ({ ...f.hit, score: f.score })),
      { t0, tEmbed, t1: performance.now() },
      eTo.cached && eFrom.cached,
      [...eTo.failed, ...eFrom.failed],
      blend,
    );
  }

  private route(subject: RolloutSubject): RolloutDecision {
    return this.deps.router.decide(subject);
  }

  private async finish(
    kind: string,
    query: string | null,
    vector: Float32Array,
    d: RolloutDecision,
    opts: SearchOptions,
    t0: number,
    tEmbed: number,
    cached: boolean,
    failed: readonly string[],
    excludeId?: string,
  ): Promise<SearchResponse> {
    // The asset itself is dropped from its similar hits here, not by a store filter: an exclusion filter makes
    // the engine prefilter every row (a cost that grows with the library) to remove at most one hit.
    const dropHere = excludeId !== undefined && opts.offset + opts.limit < MAX_SEARCH_WINDOW;
    const filter = toPayloadFilter(opts.filters, dropHere ? undefined : excludeId);
    const found: SearchHit[] = await this.storeCall(d, () =>
      this.deps.store.search(d.collection, {
        vector,
        ...(dropHere ? { limit: opts.offset + opts.limit + 1, offset: 0 } : { limit: opts.limit, offset: opts.offset }),
        ...(filter ? { filter } : {}),
        ...(opts.minScore !== undefined ? { minScore: opts.minScore } : {}),
      }),
    );
    const hits = dropHere
      ? found.filter((h) => h.assetId !== excludeId).slice(opts.offset, opts.offset + opts.limit)
      : found;
    return this.respond(kind, query, d, hits, { t0, tEmbed, t1: performance.now() }, cached, failed);
  }

  private respond(
    kind: string,
    query: string | null,
    d: RolloutDecision,
    hits: SearchHit[],
    t: { t0: number; tEmbed: number; t1: number },
    cached: boolean,
    failed: readonly string[],
    blend?: BlendField,
  ): SearchResponse {
    const pair = this.deps.router.pair;
    const m = this.deps.metrics;
    m.decisions.inc({ model: d.model, reason: d.reason });
    if (d.reason.startsWith('fallback:')) m.fallbacks.inc({ reason: d.reason.slice('fallback:'.length) });
    m.results.observe({ model: d.model, kind }, hits.length);
    return {
      results: hits.map((h) => ({
        asset: toAssetView({ ...h.payload, asset_id: h.payload.asset_id ?? h.assetId }, this.deps.paths),
        score: h.score,
      })),
      total: hits.length,
      query,
      model: d.model,
      family: d.family,
      collection: d.collection,
      rollout: {
        bucket: d.bucket,
        reason: d.reason,
        bucket_source: d.bucketSource,
        fallback: d.reason.startsWith('fallback:'),
        from: pair.from.model,
        to: pair.to?.model ?? null,
      },
      timing_ms: { embed: round(t.tEmbed - t.t0), search: round(t.t1 - t.tEmbed), total: round(t.t1 - t.t0) },
      cached_embedding: cached,
      cached_results: false,
      degraded: degradedField([...failed, ...this.deps.embedding.unavailableModels()], d.model),
      ...(blend ? { blend } : {}),
    };
  }

  private async storeCall<T>(d: RolloutDecision, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isAppError(err, 'NOT_FOUND')) {
        throw new AppError(
          'UNAVAILABLE',
          `collection '${d.collection}' does not exist yet: create it (npx nx run tools:create-collection) or ingest images first`,
          { retryAfterS: 30, cause: err },
        );
      }
      if (isAppError(err) && (err.code === 'INVALID_ARGUMENT' || err.code === 'SCHEMA_MISMATCH')) throw err;
      if (isAppError(err)) throw err;
      throw new AppError('UNAVAILABLE', `vector store failed: ${(err as Error).message}`, {
        retryAfterS: 5,
        cause: err,
      });
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
