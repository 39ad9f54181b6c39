import { INPUT_ERROR_REASONS } from '@image-search/image-formats/item-errors';
import { AppError, isAppError, type Logger } from '@image-search/service-kit';
import type { EmbedderApi, EmbedItemResult } from '@image-search/embedder-client';
import type { RolloutDecision, RolloutRouter } from '@image-search/rollout-router';
import type { BreakerSet } from './circuit-breaker.js';
import type { QueryCache } from './query-cache.js';
import type { GatewayMetrics } from '../metrics.js';

/** The embedder client of a registered model (by id); undefined when the model has no embedder configured. */
export type Embedders = (modelId: string) => EmbedderApi | undefined;

/** A client's mistake (400): never a reason to fall back or to open a breaker. */
function isClientError(err: unknown): boolean {
  return isAppError(err, 'INVALID_ARGUMENT') || isAppError(err, 'PAYLOAD_TOO_LARGE');
}

/** An embedding and who made it; `failed` lists the models (registry ids) that could not answer this request. */
export interface EmbedOutcome {
  vector: Float32Array;
  decision: RolloutDecision;
  cached: boolean;
  failed: string[];
}

/**
 * Embeds a query (text or image) with the routed model. A failure of the pair's `to` model (down,
 * overloaded, deadline, breaker open) re-routes to the `from` model and marks the decision
 * `fallback:target_embedder_error`; a failure of the `from` model re-routes to the `to` model
 * (`fallback:source_embedder_error`) while its collection could serve it (coverage gate met), so a
 * restarting embedder never stops search. When neither can answer the request fails with 503 and
 * Retry-After.
 */
export class EmbeddingService {
  constructor(
    private readonly deps: {
      embedders: Embedders;
      breakers: BreakerSet;
      router: RolloutRouter;
      cache: QueryCache;
      metrics: GatewayMetrics;
      logger: Logger;
      deadlineMs: number;
    },
  ) {}

  /** Embeds text with the model of `decision` (cached), falling back to the `from` model as needed. */
  async embedText(decision: RolloutDecision, query: string, signal?: AbortSignal): Promise<EmbedOutcome> {
    return this.withFallback(decision, signal, async (d) => {
      const hit = this.deps.cache.get(d.model, query, d.family);
      this.deps.metrics.cache.inc({ model: d.model, result: hit ? 'hit' : 'miss' });
      if (hit) return { vector: hit, cached: true };
      const vector = await this.call(
        d,
        'text',
        'query',
        (api) => api.embedTexts([query], { deadlineMs: this.deps.deadlineMs, ...(signal ? { signal } : {}) }),
        signal,
      );
      this.deps.cache.set(d.model, query, vector, d.family);
      return { vector, cached: false };
    });
  }

  /** Embeds an uploaded image with the model of `decision`, falling back to the `from` model as needed. */
  async embedImage(decision: RolloutDecision, data: Uint8Array, signal?: AbortSignal): Promise<EmbedOutcome> {
    return this.withFallback(decision, signal, async (d) => ({
      vector: await this.call(
        d,
        'image',
        'image',
        (api) => api.embedImages([{ data }], { deadlineMs: this.deps.deadlineMs, ...(signal ? { signal } : {}) }),
        signal,
      ),
      cached: false,
    }));
  }

  /** Models of the pair whose embedder is known down now (circuit breaker not closed); configured ones only. */
  unavailableModels(): string[] {
    const { from, to } = this.deps.router.pair;
    return [from, to]
      .filter((t): t is NonNullable<typeof t> => t !== undefined && this.deps.embedders(t.model) !== undefined)
      .map((t) => t.model)
      .filter((id) => this.deps.breakers.get(id).state !== 'closed');
  }

  private async withFallback<T extends { vector: Float32Array; cached: boolean }>(
    decision: RolloutDecision,
    signal: AbortSignal | undefined,
    fn: (d: RolloutDecision) => Promise<T>,
  ): Promise<T & { decision: RolloutDecision; failed: string[] }> {
    let d = decision;
    const failed: string[] = [];
    if (d.role === 'to') {
      try {
        return { ...(await fn(d)), decision: d, failed };
      } catch (err) {
        if (isClientError(err) || isAppError(err, 'CANCELLED')) throw err;
        failed.push(d.model);
        d = this.deps.router.fallback(d, 'target_embedder_error');
        this.deps.logger.warn(
          { err: (err as Error).message, model: decision.model, fallback_model: d.model },
          `${decision.model} embedder failed; serving this search with ${d.model}`,
        );
      }
    }
    try {
      return { ...(await fn(d)), decision: d, failed };
    } catch (err) {
      if (isClientError(err) || isAppError(err, 'CANCELLED') || isAppError(err, 'RESOURCE_EXHAUSTED')) throw err;
      failed.push(d.model);
      // The from model down (crashed, restarting): a covered to-collection answers meanwhile.
      const alt = failed.length > 1 ? undefined : this.deps.router.fallbackToTarget(d);
      if (alt) {
        this.deps.logger.warn(
          { err: (err as Error).message, model: d.model, fallback_model: alt.model },
          `${d.model} embedder failed; serving this search with ${alt.model}`,
        );
        try {
          return { ...(await fn(alt)), decision: alt, failed };
        } catch (err2) {
          if (isClientError(err2) || isAppError(err2, 'CANCELLED')) throw err2;
        }
      }
      const retry = Math.max(1, this.deps.breakers.get(d.model).retryAfterS());
      throw new AppError(
        'UNAVAILABLE',
        `no embedder can answer now (${d.model}: ${(err as Error).message}${alt ? `; ${alt.model} failed too` : ''}); retry later`,
        { retryAfterS: retry, cause: err },
      );
    }
  }

  private async call(
    d: RolloutDecision,
    kind: 'text' | 'image',
    field: string,
    fn: (api: EmbedderApi) => Promise<EmbedItemResult[]>,
    signal: AbortSignal | undefined,
  ): Promise<Float32Array> {
    const model = d.model;
    const api = this.deps.embedders(model);
    const breaker = this.deps.breakers.get(model);
    if (!api) throw new AppError('UNAVAILABLE', `${model} embedder is not configured`);
    if (!breaker.allows())
      throw new AppError('UNAVAILABLE', `${model} embedder circuit breaker is open`, {
        retryAfterS: breaker.retryAfterS(),
      });
    const started = performance.now();
    let outcome = 'ok';
    try {
      const results = await breaker.run(async () => {
        try {
          return await fn(api);
        } catch (err) {
          // A request the embedder refused as invalid, or one the client gave up on, is not an outage.
          if (isAppError(err, 'INVALID_ARGUMENT')) return err;
          if (signal?.aborted) return new AppError('CANCELLED', 'the client closed the request');
          // The serving model shedding load is not an outage: opening its breaker would turn a busy
          // second into 10 s of 503s (the `to` model's overload does fall back, so it counts there).
          if (d.role === 'from' && isAppError(err, 'RESOURCE_EXHAUSTED')) return err;
          throw err;
        }
      });
      if (results instanceof AppError) {
        if (results.code === 'CANCELLED') throw results;
        if (results.code === 'RESOURCE_EXHAUSTED')
          throw new AppError('RESOURCE_EXHAUSTED', `${model} embedder is overloaded; retry shortly`, {
            retryAfterS: 1,
            cause: results,
          });
        throw new AppError('INVALID_ARGUMENT', `${field}: ${results.message}`, { details: { field } });
      }
      const item = results[0];
      if (!item) throw new AppError('INTERNAL', `${model} embedder returned no result`);
      if (!item.ok) {
        if (item.reason !== 'UNSPECIFIED' && INPUT_ERROR_REASONS.has(item.reason))
          throw new AppError('INVALID_ARGUMENT', `${field}: ${item.message}`, {
            details: { field, reason: item.reason },
          });
        throw new AppError('INTERNAL', `${model} embedder failed: ${item.message}`);
      }
      return item.vector;
    } catch (err) {
      outcome = isClientError(err) ? 'client_error' : isAppError(err, 'CANCELLED') ? 'cancelled' : 'error';
      throw err;
    } finally {
      this.deps.metrics.embedLatency.observe({ model, kind, outcome }, (performance.now() - started) / 1000);
    }
  }
}
