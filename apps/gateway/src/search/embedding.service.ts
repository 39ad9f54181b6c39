import { AppError, isAppError, type Logger } from '@image-search/service-kit';
import type { EmbedderApi, EmbedItemResult } from '@image-search/embedder-client';
import type { RolloutDecision, RolloutModel, RolloutRouter } from '@image-search/rollout-router';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { QueryCache } from './query-cache.js';
import type { GatewayMetrics } from '../metrics.js';

/** The embedder clients by model; SigLIP is absent when not configured. */
export interface Embedders {
  clip: EmbedderApi;
  siglip: EmbedderApi | undefined;
}

const CLIENT_ITEM_REASONS = new Set([
  'EMPTY_INPUT',
  'INPUT_TOO_LARGE',
  'NOT_AN_IMAGE',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'TOO_MANY_PIXELS',
]);

/** A client's mistake (400): never a reason to fall back or to open a breaker. */
function isClientError(err: unknown): boolean {
  return isAppError(err, 'INVALID_ARGUMENT') || isAppError(err, 'PAYLOAD_TOO_LARGE');
}

/**
 * Embeds a query (text or image) with the routed model. A SigLIP failure (down, overloaded,
 * deadline, breaker open) re-routes to CLIP and marks the decision `fallback:siglip_embedder_error`;
 * when CLIP cannot answer either the request fails with 503 and Retry-After.
 */
export class EmbeddingService {
  constructor(
    private readonly deps: {
      embedders: Embedders;
      breakers: Record<RolloutModel, CircuitBreaker>;
      router: RolloutRouter;
      cache: QueryCache;
      metrics: GatewayMetrics;
      logger: Logger;
      deadlineMs: number;
    },
  ) {}

  /** Embeds text with the model of `decision` (cached), falling back to CLIP as needed. */
  async embedText(
    decision: RolloutDecision,
    query: string,
    signal?: AbortSignal,
  ): Promise<{ vector: Float32Array; decision: RolloutDecision; cached: boolean }> {
    return this.withFallback(decision, signal, async (model) => {
      const hit = this.deps.cache.get(model, query);
      this.deps.metrics.cache.inc({ model, result: hit ? 'hit' : 'miss' });
      if (hit) return { vector: hit, cached: true };
      const vector = await this.call(
        model,
        'text',
        'query',
        (api) => api.embedTexts([query], { deadlineMs: this.deps.deadlineMs, ...(signal ? { signal } : {}) }),
        signal,
      );
      this.deps.cache.set(model, query, vector);
      return { vector, cached: false };
    });
  }

  /** Embeds an uploaded image with the model of `decision`, falling back to CLIP as needed. */
  async embedImage(
    decision: RolloutDecision,
    data: Uint8Array,
    signal?: AbortSignal,
  ): Promise<{ vector: Float32Array; decision: RolloutDecision; cached: boolean }> {
    return this.withFallback(decision, signal, async (model) => ({
      vector: await this.call(
        model,
        'image',
        'image',
        (api) => api.embedImages([{ data }], { deadlineMs: this.deps.deadlineMs, ...(signal ? { signal } : {}) }),
        signal,
      ),
      cached: false,
    }));
  }

  private async withFallback<T extends { vector: Float32Array; cached: boolean }>(
    decision: RolloutDecision,
    signal: AbortSignal | undefined,
    fn: (model: RolloutModel) => Promise<T>,
  ): Promise<T & { decision: RolloutDecision }> {
    let d = decision;
    if (d.model === 'siglip') {
      try {
        return { ...(await fn('siglip')), decision: d };
      } catch (err) {
        if (isClientError(err) || isAppError(err, 'CANCELLED')) throw err;
        this.deps.logger.warn({ err: (err as Error).message }, 'SigLIP embedder failed; serving this search with CLIP');
        d = this.deps.router.fallbackToClip(d, 'siglip_embedder_error');
      }
    }
    try {
      return { ...(await fn('clip')), decision: d };
    } catch (err) {
      if (isClientError(err) || isAppError(err, 'CANCELLED') || isAppError(err, 'RESOURCE_EXHAUSTED')) throw err;
      const retry = Math.max(1, this.deps.breakers.clip.retryAfterS());
      throw new AppError('UNAVAILABLE', `no embedder can answer now (CLIP: ${(err as Error).message}); retry later`, {
        retryAfterS: retry,
        cause: err,
      });
    }
  }

  private async call(
    model: RolloutModel,
    kind: 'text' | 'image',
    field: string,
    fn: (api: EmbedderApi) => Promise<EmbedItemResult[]>,
    signal: AbortSignal | undefined,
  ): Promise<Float32Array> {
    const api = this.deps.embedders[model];
    const breaker = this.deps.breakers[model];
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
          // CLIP shedding load is not an outage: opening its breaker would turn a busy second into 10 s of 503s.
          if (model === 'clip' && isAppError(err, 'RESOURCE_EXHAUSTED')) return err;
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
        if (CLIENT_ITEM_REASONS.has(item.reason))
          throw new AppError('INVALID_ARGUMENT', `${field}: ${item.message} (${item.reason})`, {
            details: { field, reason: item.reason },
          });
        throw new AppError('INTERNAL', `${model} embedder failed: ${item.reason} ${item.message}`);
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
