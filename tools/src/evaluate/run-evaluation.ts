import { AppError, isAppError } from '@image-search/service-kit';
import type { EmbedderApi } from '@image-search/embedder-client';
import type { VectorStore } from '@image-search/vector-store';
import type { RegisteredModel } from '@image-search/model-registry';
import {
  bootstrapCi,
  EVAL_DEPTH,
  mean,
  METRICS,
  pairedDifference,
  percentile,
  queryMetrics,
  type JudgedQuery,
  type MetricName,
  type PairedDifference,
  type QueryMetrics,
} from './metrics.js';

/** A model under evaluation: its registry entry and a client of the embedder serving it. */
export interface EvaluatedArm {
  model: RegisteredModel;
  embedder: EmbedderApi;
}

/** What one query did on one model. */
export interface QueryRun {
  ranked: string[];
  metrics: QueryMetrics;
  latencyMs: number;
  /** The search failed (embedder or store): counted as a zero-result answer with metrics 0. */
  error?: string | undefined;
}

/** Per-model summary: the metric means, their 95 % intervals, zero-result rate and latency. */
export interface ModelSummary {
  'recall@1': number;
  'recall@5': number;
  'recall@10': number;
  mrr: number;
  'ndcg@10': number;
  zero_result_rate: number;
  errors: number;
  latency_ms: { p50: number; p95: number };
  ci95: Record<MetricName, [number, number]>;
}

/** The whole evaluation's result (the `--json` document). */
export interface EvaluationResult {
  models: Record<string, ModelSummary>;
  /** Per pair `"<b> vs <a>"` (b minus a; a is the earlier registered model): the paired difference of each metric. */
  difference: Record<string, { a: string; b: string } & Record<MetricName, PairedDifference>>;
  queries: number;
  /** Per slice (queries carrying `slice`): query count and each model's metric means. */
  slices: Record<string, { queries: number; models: Record<string, Record<MetricName, number>> }>;
  settings: { depth: number; bootstrap_iterations: number; seed: number };
}

/** Options of `evaluateModels`. */
export interface EvaluateOptions {
  queries: readonly JudgedQuery[];
  arms: readonly EvaluatedArm[];
  store: VectorStore;
  deadlineMs?: number;
  iterations?: number;
  seed?: number;
  /** Called after each query on each model (for the progress bar). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The gateway's text-search path for one model: embed the query with the model's embedder client,
 * then search the model's collection in the vector store (no filters, the first 10 hits).
 */
async function searchOnce(arm: EvaluatedArm, store: VectorStore, query: string, deadlineMs: number): Promise<string[]> {
  const [item] = await arm.embedder.embedTexts([query], { deadlineMs });
  if (!item) throw new AppError('INTERNAL', `${arm.model.id} embedder returned no result`);
  if (!item.ok) throw new AppError('INTERNAL', `${arm.model.id} embedder refused the query: ${item.message}`);
  const hits = await store.search(arm.model.collection, { vector: item.vector, limit: EVAL_DEPTH });
  return hits.map((h) => h.assetId);
}

function summarise(runs: QueryRun[], iterations: number, seed: number): ModelSummary {
  const col = (m: MetricName) => runs.map((r) => r.metrics[m]);
  const ci95 = Object.fromEntries(METRICS.map((m) => [m, bootstrapCi(col(m), { iterations, seed })])) as Record<
    MetricName,
    [number, number]
  >;
  const lat = runs.filter((r) => !r.error).map((r) => r.latencyMs);
  return {
    ...(Object.fromEntries(METRICS.map((m) => [m, mean(col(m))])) as Record<MetricName, number>),
    zero_result_rate: mean(runs.map((r) => r.metrics.zero_result)),
    errors: runs.filter((r) => r.error).length,
    latency_ms: { p50: percentile(lat, 50), p95: percentile(lat, 95) },
    ci95,
  };
}

const ZERO: QueryMetrics = { 'recall@1': 0, 'recall@5': 0, 'recall@10': 0, mrr: 0, 'ndcg@10': 0, zero_result: 1 };

/**
 * Runs every query on every model, one at a time (so latencies are not inflated by the evaluator's
 * own concurrency), and computes the per-model summaries, the paired differences and the slices.
 * A model whose collection does not exist is refused up front, naming it.
 */
export async function evaluateModels(opts: EvaluateOptions): Promise<{ result: EvaluationResult; runs: QueryRun[][] }> {
  const iterations = opts.iterations ?? 2000;
  const seed = opts.seed ?? 1;
  const deadlineMs = opts.deadlineMs ?? 10_000;
  for (const arm of opts.arms)
    if (!(await opts.store.exists(arm.model.collection)))
      throw new AppError(
        'NOT_FOUND',
        `model ${arm.model.id}: its collection '${arm.model.collection}' does not exist; ingest or migrate first, or leave the model out with --model`,
      );
  const total = opts.queries.length * opts.arms.length;
  let done = 0;
  const runs: QueryRun[][] = [];
  for (const arm of opts.arms) {
    const armRuns: QueryRun[] = [];
    for (const q of opts.queries) {
      const t0 = performance.now();
      try {
        const ranked = await searchOnce(arm, opts.store, q.query, deadlineMs);
        armRuns.push({ ranked, metrics: queryMetrics(q, ranked), latencyMs: performance.now() - t0 });
      } catch (err) {
        if (isAppError(err, 'INVALID_ARGUMENT')) throw err;
        armRuns.push({ ranked: [], metrics: ZERO, latencyMs: performance.now() - t0, error: (err as Error).message });
      }
      opts.onProgress?.(++done, total);
    }
    runs.push(armRuns);
  }
  const models: EvaluationResult['models'] = {};
  opts.arms.forEach((arm, i) => (models[arm.model.id] = summarise(runs[i]!, iterations, seed)));
  const difference: EvaluationResult['difference'] = {};
  for (let i = 0; i < opts.arms.length; i++)
    for (let j = i + 1; j < opts.arms.length; j++) {
      const [a, b] = [opts.arms[i]!.model.id, opts.arms[j]!.model.id];
      const perMetric = Object.fromEntries(
        METRICS.map((m) => [
          m,
          pairedDifference(
            runs[i]!.map((r) => r.metrics[m]),
            runs[j]!.map((r) => r.metrics[m]),
            { iterations, seed },
          ),
        ]),
      ) as Record<MetricName, PairedDifference>;
      difference[`${b} vs ${a}`] = { a, b, ...perMetric };
    }
  const slices: EvaluationResult['slices'] = {};
  const sliceNames = [...new Set(opts.queries.map((q) => q.slice).filter((s): s is string => s !== undefined))];
  for (const s of sliceNames.sort()) {
    const idx = opts.queries.flatMap((q, k) => (q.slice === s ? [k] : []));
    const perModel: Record<string, Record<MetricName, number>> = {};
    opts.arms.forEach((arm, i) => {
      perModel[arm.model.id] = Object.fromEntries(
        METRICS.map((m) => [m, mean(idx.map((k) => runs[i]![k]!.metrics[m]))]),
      ) as Record<MetricName, number>;
    });
    slices[s] = { queries: idx.length, models: perModel };
  }
  return {
    result: {
      models,
      difference,
      queries: opts.queries.length,
      slices,
      settings: { depth: EVAL_DEPTH, bootstrap_iterations: iterations, seed },
    },
    runs,
  };
}
