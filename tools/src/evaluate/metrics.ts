/** Ranking metrics of one query's result list against its judged relevant assets. */

/** One judged query after its relevant items were resolved to asset ids. */
export interface JudgedQuery {
  query: string;
  /** Relevant asset ids (at least one). */
  relevant: string[];
  /** Graded relevance by asset id (missing relevant ids have grade 1); 0 means judged not relevant. */
  grades: Record<string, number>;
  slice?: string | undefined;
}

/** Per-query metric values (each in 0..1). */
export interface QueryMetrics {
  'recall@1': number;
  'recall@5': number;
  'recall@10': number;
  mrr: number;
  'ndcg@10': number;
  /** 1 when the search returned nothing, else 0 (its mean is the zero-result rate). */
  zero_result: number;
}

/** The metrics reported per model, in report order. */
export const METRICS = ['recall@1', 'recall@5', 'recall@10', 'mrr', 'ndcg@10'] as const;
/** One of the reported ranking metrics. */
export type MetricName = (typeof METRICS)[number];

/** Results considered: the evaluator asks every model for this many hits. */
export const EVAL_DEPTH = 10;

function gradeOf(q: JudgedQuery, id: string): number {
  if (id in q.grades) return q.grades[id]!;
  return q.relevant.includes(id) ? 1 : 0;
}

/**
 * The metrics of one ranked list (asset ids, best first). recall@k is the share of the relevant
 * assets within the first k; MRR is 1/rank of the first relevant hit within the first 10 (else 0);
 * nDCG@10 uses the exponential gain 2^grade - 1 and log2(rank + 1) discount, normalised by the ideal
 * ordering of the judged grades.
 */
export function queryMetrics(q: JudgedQuery, ranked: readonly string[]): QueryMetrics {
  const relevant = new Set(q.relevant.filter((id) => gradeOf(q, id) > 0));
  const top = ranked.slice(0, EVAL_DEPTH);
  const recallAt = (k: number) =>
    relevant.size === 0 ? 0 : top.slice(0, k).filter((id) => relevant.has(id)).length / relevant.size;
  const first = top.findIndex((id) => relevant.has(id));
  const gain = (g: number) => 2 ** g - 1;
  const dcg = top.reduce((s, id, i) => s + gain(gradeOf(q, id)) / Math.log2(i + 2), 0);
  const ideal = [...relevant]
    .map((id) => gradeOf(q, id))
    .sort((a, b) => b - a)
    .slice(0, EVAL_DEPTH)
    .reduce((s, g, i) => s + gain(g) / Math.log2(i + 2), 0);
  return {
    'recall@1': recallAt(1),
    'recall@5': recallAt(5),
    'recall@10': recallAt(10),
    mrr: first < 0 ? 0 : 1 / (first + 1),
    'ndcg@10': ideal === 0 ? 0 : dcg / ideal,
    zero_result: ranked.length === 0 ? 1 : 0,
  };
}

/** Arithmetic mean (0 for an empty list). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** The p-th percentile (0..100) by linear interpolation between closest ranks (0 for an empty list). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * Seeded uniform numbers in [0, 1) (mulberry32): the confidence intervals and p-values must be
 * reproducible run to run, which Math.random cannot give, and a dependency for six lines is not worth it.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of the resampling statistics. */
export interface ResampleOptions {
  /** Bootstrap resamples / permutations (default 2000). */
  iterations?: number;
  seed?: number;
}

/** 95 % percentile-bootstrap confidence interval of the mean of per-query values. */
export function bootstrapCi(values: readonly number[], opts: ResampleOptions = {}): [number, number] {
  const n = values.length;
  if (n === 0) return [0, 0];
  const rand = seededRandom(opts.seed ?? 1);
  const iterations = opts.iterations ?? 2000;
  const means = new Float64Array(iterations);
  for (let b = 0; b < iterations; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(rand() * n)]!;
    means[b] = s / n;
  }
  const sorted = [...means].sort((a, b) => a - b);
  return [percentile(sorted, 2.5), percentile(sorted, 97.5)];
}

/** The paired comparison of two models on one metric over the same queries (b minus a). */
export interface PairedDifference {
  /** Mean of b - a over the queries. */
  mean: number;
  /** 95 % paired-bootstrap interval of that mean. */
  ci95: [number, number];
  /** Two-sided p-value of the paired sign-flip permutation test (H0: no difference). */
  p_value: number;
  /** p_value < 0.05. */
  significant: boolean;
}

/**
 * Paired comparison: per-query differences b - a, a bootstrap interval of their mean, and a
 * sign-flip permutation test (under H0 each difference is as likely negated). With 16 or fewer
 * non-zero differences every sign pattern is enumerated (exact p); otherwise `iterations` random
 * flips with the add-one correction, so p is never 0.
 */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  opts: ResampleOptions = {},
): PairedDifference {
  if (a.length !== b.length) throw new Error(`paired samples differ in length (${a.length} vs ${b.length})`);
  const d = a.map((x, i) => b[i]! - x);
  const observed = Math.abs(mean(d));
  const nonZero = d.filter((x) => x !== 0);
  const eps = 1e-12;
  let p: number;
  if (nonZero.length === 0) p = 1;
  else if (nonZero.length <= 16) {
    let extreme = 0;
    const patterns = 2 ** nonZero.length;
    for (let m = 0; m < patterns; m++) {
      let s = 0;
      for (let i = 0; i < nonZero.length; i++) s += (m >> i) & 1 ? -nonZero[i]! : nonZero[i]!;
      if (Math.abs(s / d.length) >= observed - eps) extreme++;
    }
    p = extreme / patterns;
  } else {
    const rand = seededRandom((opts.seed ?? 1) + 7);
    const iterations = opts.iterations ?? 2000;
    let extreme = 0;
    for (let it = 0; it < iterations; it++) {
      let s = 0;
      for (const x of nonZero) s += rand() < 0.5 ? -x : x;
      if (Math.abs(s / d.length) >= observed - eps) extreme++;
    }
    p = (extreme + 1) / (iterations + 1);
  }
  return { mean: mean(d), ci95: bootstrapCi(d, opts), p_value: p, significant: p < 0.05 };
}
