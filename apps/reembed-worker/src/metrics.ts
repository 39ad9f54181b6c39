import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The worker's Prometheus metrics. */
export interface WorkerMetrics {
  registry: Registry;
  itemsProcessed: Counter<'result'>;
  itemsFailed: Counter<'reason'>;
  batchSeconds: Histogram<'outcome'>;
  batchOverheadSeconds: Histogram;
  queueDepth: Gauge<'state'>;
  inflightLimit: Gauge;
  throttled: Counter;
}

/** Creates the registry; `queueCounts` is read on each scrape for the queue-depth gauge. */
export function createWorkerMetrics(queueCounts: () => Promise<Record<string, number>>): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'reembed_worker_' });
  return {
    registry,
    itemsProcessed: new Counter({
      name: 'reembed_items_processed_total',
      help: 'Items handled by batch jobs, by result (embedded, skipped).',
      labelNames: ['result'],
      registers: [registry],
    }),
    itemsFailed: new Counter({
      name: 'reembed_items_failed_total',
      help: 'Items that could not be re-embedded, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'reembed_batch_duration_seconds',
      help: 'Wall time of one batch job.',
      labelNames: ['outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    batchOverheadSeconds: new Histogram({
      name: 'reembed_batch_overhead_seconds',
      help: 'Time of a batch not spent waiting on the embedder (Redis, store reads and upserts, file reads).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'reembed_queue_depth',
      help: 'Jobs in the re-embedding queue by state.',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        try {
          const counts = await queueCounts();
          for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        } catch {
          // Redis down: keep the last values rather than fail the whole scrape.
        }
      },
    }),
    inflightLimit: new Gauge({
      name: 'reembed_embed_inflight_limit',
      help: 'Adaptive cap on embed requests in flight.',
      registers: [registry],
    }),
    throttled: new Counter({
      name: 'reembed_embedder_throttled_total',
      help: 'RESOURCE_EXHAUSTED answers from the embedder (the worker slowed down).',
      registers: [registry],
    }),
  };
}
