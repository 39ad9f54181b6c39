import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatcherObserver } from './batcher.js';
import type { Tower, TowerEvent, TowerStatus } from './tower-slot.js';

export type { Tower } from './tower-slot.js';

const TOWER_STATES = ['loaded', 'unloaded', 'loading'] as const;

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
  readonly towerUnloads: Counter<'tower'>;
  readonly towerReloads: Counter<'tower' | 'result'>;
  readonly towerReloadSeconds: Histogram<'tower'>;
  /** Where the towers' states come from (the model, once loaded); none are reported before. */
  private towers: () => TowerStatus[] = () => [];

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
    this.towerUnloads = new Counter({
      name: 'embedder_tower_unloads_total',
      help: 'Towers unloaded after MODEL_IDLE_UNLOAD_S without calls (their worker thread ended)',
      labelNames: ['tower'],
      registers: r,
    });
    this.towerReloads = new Counter({
      name: 'embedder_tower_reloads_total',
      help: 'Towers loaded again on demand after an idle unload, by result (ok, failed)',
      labelNames: ['tower', 'result'],
      registers: r,
    });
    this.towerReloadSeconds = new Histogram({
      name: 'embedder_tower_reload_seconds',
      help: 'Time to load a tower again after an idle unload (what the first call after a quiet spell waits)',
      labelNames: ['tower'],
      buckets: [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
      registers: r,
    });
    const towers = () => this.towers();
    new Gauge({
      name: 'embedder_tower_state',
      help: 'Where each tower is: 1 for its current state (loaded, unloaded, loading), 0 for the others',
      labelNames: ['tower', 'state'],
      registers: r,
      collect() {
        for (const t of towers())
          for (const state of TOWER_STATES) this.set({ tower: t.tower, state }, +(t.state === state));
      },
    });
    new Gauge({
      name: 'embedder_tower_last_used_timestamp_seconds',
      help: 'When each tower last finished a job (Unix seconds; 0 before its first)',
      labelNames: ['tower'],
      registers: r,
      collect() {
        for (const t of towers()) this.set({ tower: t.tower }, (t.lastUsedAt ?? 0) / 1000);
      },
    });
    for (const tower of ['text', 'image'] as const) {
      this.queueDepth.set({ tower }, 0);
      this.batches.inc({ tower }, 0);
      this.items.inc({ tower }, 0);
      this.towerUnloads.inc({ tower }, 0);
      for (const result of ['ok', 'failed']) this.towerReloads.inc({ tower, result }, 0);
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

  /** Reads the towers' states from `source` on each scrape. */
  trackTowers(source: () => TowerStatus[]): void {
    this.towers = source;
  }

  /** Counts a tower's unload or reload. */
  onTowerEvent(e: TowerEvent): void {
    if (e.event === 'unloaded') this.towerUnloads.inc({ tower: e.tower });
    else if (e.event === 'reloaded') {
      this.towerReloads.inc({ tower: e.tower, result: 'ok' });
      if (e.tookMs !== undefined) this.towerReloadSeconds.observe({ tower: e.tower }, e.tookMs / 1000);
    } else if (e.event === 'reload_failed') this.towerReloads.inc({ tower: e.tower, result: 'failed' });
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
