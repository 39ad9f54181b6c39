import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics, on their own registry. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'gateway_http_requests_total',
    help: 'HTTP requests by route, method, status and model',
    labelNames: ['route', 'method', 'status', 'model'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP request latency by route and model',
    labelNames: ['route', 'method', 'model'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly results = new Histogram({
    name: 'gateway_search_results',
    help: 'Results returned per search, by model',
    labelNames: ['model', 'kind'] as const,
    buckets: [0, 1, 5, 10, 20, 50, 100, 200],
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'gateway_rollout_decisions_total',
    help: 'Routing decisions by model and reason',
    labelNames: ['model', 'reason'] as const,
    registers: [this.registry],
  });
  readonly fallbacks = new Counter({
    name: 'gateway_rollout_fallbacks_total',
    help: "Searches routed to the pair's `to` model but served by its `from` model, by reason",
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly blended = new Counter({
    name: 'gateway_blended_searches_total',
    help: 'Searches answered by blending the `to` model (below its coverage minimum) with the `from` model (COVERAGE_MODE=blend)',
    labelNames: ['to', 'from'] as const,
    registers: [this.registry],
  });
  readonly cache = new Counter({
    name: 'gateway_query_cache_total',
    help: 'Query-embedding cache lookups by model and result (hit|miss)',
    labelNames: ['model', 'result'] as const,
    registers: [this.registry],
  });
  readonly resultCache = new Counter({
    name: 'gateway_result_cache_total',
    help: 'Search-result cache lookups by model and result (hit|miss)',
    labelNames: ['model', 'result'] as const,
    registers: [this.registry],
  });
  readonly embedLatency = new Histogram({
    name: 'gateway_embedder_call_duration_seconds',
    help: 'Embedder call latency by model, kind and outcome',
    labelNames: ['model', 'kind', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly breaker = new Gauge({
    name: 'gateway_embedder_breaker_open',
    help: '1 while the embedder circuit breaker is open',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  /** The seed's name for rolloutCoverage (the pair's to/from ratio without labels), kept for existing dashboards. */
  readonly coverage = new Gauge({
    name: 'gateway_siglip_coverage_ratio',
    help: "Deprecated alias of gateway_rollout_coverage_ratio: the rollout pair's to/from point ratio (cached)",
    registers: [this.registry],
  });
  readonly rolloutCoverage = new Gauge({
    name: 'gateway_rollout_coverage_ratio',
    help: "The rollout pair's coverage: points of the `to` model's collection / the `from` model's (cached)",
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });
  readonly points = new Gauge({
    name: 'gateway_collection_points',
    help: "Cached point counts of the rollout pair's collections, by registry model id",
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests refused by a rate limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly rateLimitStoreErrors = new Counter({
    name: 'gateway_rate_limit_store_errors_total',
    help: 'Requests let through unlimited because Redis could not count them (fail open)',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly ingestFiles = new Counter({
    name: 'gateway_ingest_files_total',
    help: 'Ingested files by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'gateway_search_events_total',
    help: 'Events users sent about search results (POST /api/v1/events), by type and the model that answered',
    labelNames: ['type', 'model'] as const,
    registers: [this.registry],
  });

  /** What reads the engine's cache size (set once the store is open; the embedded engine only). */
  storeCacheBytes: () => number | undefined = () => undefined;
  readonly storeCache = new Gauge({
    name: 'gateway_vector_store_cache_bytes',
    help: "Bytes held by the embedded engine's index and metadata caches (0 with Qdrant)",
    registers: [this.registry],
    collect: () => {
      const bytes = this.storeCacheBytes();
      if (bytes !== undefined) this.storeCache.set(bytes);
    },
  });

  /** What reads the search caches' estimated bytes (set once they exist). */
  cacheBytes: () => { result: number; query: number } = () => ({ result: 0, query: 0 });
  readonly searchCacheBytes = new Gauge({
    name: 'gateway_search_cache_bytes',
    help: 'Estimated bytes held by the search caches (bounded by RESULT_CACHE_MAX_BYTES / QUERY_CACHE_MAX_BYTES)',
    labelNames: ['cache'] as const,
    registers: [this.registry],
    collect: () => {
      const b = this.cacheBytes();
      this.searchCacheBytes.set({ cache: 'result' }, b.result);
      this.searchCacheBytes.set({ cache: 'query' }, b.query);
    },
  });
  // The default metrics give heap and external memory but not the ArrayBuffers inside external (Buffers, Arrow).
  readonly arrayBuffers: Gauge = new Gauge({
    name: 'gateway_nodejs_array_buffers_bytes',
    help: 'Bytes of ArrayBuffers and Buffers (part of external memory), from process.memoryUsage()',
    registers: [this.registry],
    collect: () => this.arrayBuffers.set(process.memoryUsage().arrayBuffers),
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }
}
