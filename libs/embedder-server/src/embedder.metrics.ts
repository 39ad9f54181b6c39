import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatcherObserver } from './batcher.js';

/** A model tower; each has its own batcher. */
export type Tower = 'text' | 'image';

/** Prometheus metrics of one embedder (its own registry, so tests can run several in a process). */
export class EmbedderMetrics {
  readonly registry = new Registry();
  readonly batchSize: Histogram<'tower'>;
  readonly batches: Counter<'tower'>;
  readonly inferenceSeconds: Histogram<'tower'>;
  readonly queueDepth: Gauge<'tower'>;
  readonly rpcSeconds: Histogram<'rpc' | 'code'>;
  readonly items: Counter<'tower'>;
  readonly errors: Counter<'reason'>;
  readonly decodeWorkersReplaced: Counter<'why'>;

  constructor(labels: Record<string, string>, opts: { processMetrics?: boolean; maxBatch?: number } = {}) {
    this.registry.setDefaultLabels(labels);
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    const sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256].filter((b) => b <= Math.max(opts.maxBatch ?? 32, 1));
    this.batchSize = new Histogram({
      name: 'embedder_batch_size',
      help: 'Items per inference batch',
      labelNames: ['tower'],
      buckets: sizes,
      registers: r,
    });
    this.batches = new Counter({
      name: 'embedder_batches_total',
      help: 'Inference batches run',
      labelNames: ['tower'],
      registers: r,
    });
    this.inferenceSeconds = new Histogram({
      name: 'embedder_inference_seconds',
      help: 'Time of one batch inference',
      labelNames: ['tower'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.queueDepth = new Gauge({
      name: 'embedder_queue_depth',
      help: 'Items accepted and waiting for a batch (preparing or ready)',
      labelNames: ['tower'],
      registers: r,
    });
    this.rpcSeconds = new Histogram({
      name: 'embedder_rpc_duration_seconds',
      help: 'Latency of each RPC, by status code',
      labelNames: ['rpc', 'code'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    });
    this.items = new Counter({
      name: 'embedder_items_total',
      help: 'Items embedded (rate() gives items per second)',
      labelNames: ['tower'],
      registers: r,
    });
    this.errors = new Counter({
      name: 'embedder_errors_total',
      help: 'Failed items and calls, by reason',
      labelNames: ['reason'],
      registers: r,
    });
    this.decodeWorkersReplaced = new Counter({
      name: 'embedder_decode_workers_replaced_total',
      help: 'Decode worker processes killed (over MAX_DECODE_MS) or died, and replaced',
      labelNames: ['why'],
      registers: r,
    });
    for (const tower of ['text', 'image'] as const) {
      this.queueDepth.set({ tower }, 0);
      this.batches.inc({ tower }, 0);
      this.items.inc({ tower }, 0);
    }
    // Peak RSS is what a pod's memory limit has to cover.
    new Gauge({
      name: 'embedder_process_peak_rss_bytes',
      help: 'Peak resident set size of the process',
      registers: r,
      collect() {
        this.set(process.resourceUsage().maxRSS * 1024);
      },
    });
  }

  /** Hooks a tower's batcher into these metrics. */
  observer(tower: Tower): BatcherObserver {
    return {
      onBatch: (size, seconds) => {
        this.batchSize.observe({ tower }, size);
        this.batches.inc({ tower });
        this.inferenceSeconds.observe({ tower }, seconds);
        this.items.inc({ tower }, size);
      },
      onDropped: (count) => this.errors.inc({ reason: 'DROPPED_BEFORE_INFERENCE' }, count),
      onQueueDepth: (depth) => this.queueDepth.set({ tower }, depth),
    };
  }
}
