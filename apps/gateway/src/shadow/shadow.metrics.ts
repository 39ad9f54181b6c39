import { Counter, Histogram, type Registry } from 'prom-client';

const RATIO_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

/** Shadow comparison metrics, on the gateway's registry (models are registry ids). */
export class ShadowMetrics {
  readonly comparisons: Counter<'primary' | 'shadow'>;
  readonly overlap: Histogram<'primary' | 'shadow'>;
  readonly rbo: Histogram<'primary' | 'shadow'>;
  readonly zeroResults: Counter<'model' | 'role'>;
  readonly latency: Histogram<'model' | 'role'>;
  readonly skipped: Counter<'reason'>;
  readonly errors: Counter<'model'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.comparisons = new Counter({
      name: 'gateway_shadow_comparisons_total',
      help: 'Searches repeated on the other model after the answer was sent, by the answering and the shadow model',
      labelNames: ['primary', 'shadow'],
      registers,
    });
    this.overlap = new Histogram({
      name: 'gateway_shadow_overlap_at10',
      help: 'Jaccard overlap of the first 10 results of the answering and the shadow model',
      labelNames: ['primary', 'shadow'],
      buckets: RATIO_BUCKETS,
      registers,
    });
    this.rbo = new Histogram({
      name: 'gateway_shadow_rank_biased_overlap',
      help: 'Rank-biased overlap (p = 0.9, depth 10) of the answering and the shadow model',
      labelNames: ['primary', 'shadow'],
      buckets: RATIO_BUCKETS,
      registers,
    });
    this.zeroResults = new Counter({
      name: 'gateway_shadow_zero_results_total',
      help: 'Shadow-compared searches with no result, by model and role (primary answered the user, shadow did not)',
      labelNames: ['model', 'role'],
      registers,
    });
    this.latency = new Histogram({
      name: 'gateway_shadow_search_duration_seconds',
      help: 'Search latency of each arm of a shadow comparison, by model and role',
      labelNames: ['model', 'role'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.skipped = new Counter({
      name: 'gateway_shadow_skipped_total',
      help: 'Sampled searches not shadowed, by reason (concurrency, budget, paged, no_pair, no_embedder)',
      labelNames: ['reason'],
      registers,
    });
    this.errors = new Counter({
      name: 'gateway_shadow_errors_total',
      help: 'Shadow searches that failed (the user saw nothing of it), by shadow model',
      labelNames: ['model'],
      registers,
    });
  }
}
