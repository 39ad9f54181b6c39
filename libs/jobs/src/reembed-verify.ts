import type { VectorStore } from '@image-search/vector-store';
import type { VerificationReport } from './reembed.types.js';

/** What to verify and how thoroughly. */
export interface VerifyOptions {
  source: string;
  target: string;
  /** The schema's vector size for the target collection. */
  dim: number;
  /** How many target vectors to check for dimension and unit norm; 0 checks all. */
  vectorSample: number;
  /** How many missing / extra ids to list. */
  sampleLimit?: number;
  /** Ids the run recorded as failed (to say how many of the missing ones are explained). */
  failedIds?: ReadonlySet<string>;
  /** Allowed |norm - 1|. */
  normTolerance?: number;
  /**
   * False when the catalogue, not the source collection, says which assets exist (the caller adds its
   * comparison): counts and id sets are still reported but are not problems (an asset the source
   * model failed on is rightly in the target).
   */
  compareWithSource?: boolean;
}

const PAGE = 1000;
const RETRIEVE_CHUNK = 256;

/**
 * Checks that the target collection is a complete re-embedding of the source: counts equal (the
 * seed's criterion), id sets equal (missing and extra listed), and vectors of the schema's
 * dimension and unit norm. `passed` only when all hold; `problems` says exactly what is wrong.
 */
export async function verifyReembedding(store: VectorStore, opts: VerifyOptions): Promise<VerificationReport> {
  const sampleLimit = opts.sampleLimit ?? 20;
  const tolerance = opts.normTolerance ?? 1e-3;
  const [sourceCount, targetCount] = await Promise.all([store.count(opts.source), store.count(opts.target)]);
  // Unlimited diff: the full missing list is needed to tell recorded failures from real gaps.
  const diff = await store.diffIds(opts.source, opts.target);
  const failed = opts.failedIds ?? new Set<string>();
  const missingRecorded = diff.missing.filter((id) => failed.has(id)).length;

  const vectorIds = await pickVectorSample(store, opts.target, targetCount, opts.vectorSample);
  const bad: { asset_id: string; problem: string }[] = [];
  let checked = 0;
  for (let i = 0; i < vectorIds.length; i += RETRIEVE_CHUNK) {
    const points = await store.retrieve(opts.target, vectorIds.slice(i, i + RETRIEVE_CHUNK), { withVectors: true });
    for (const p of points) {
      checked++;
      const problem = vectorProblem(p.vector, opts.dim, tolerance);
      if (problem) bad.push({ asset_id: p.assetId, problem });
    }
  }

  const problems: string[] = [];
  const compare = opts.compareWithSource ?? true;
  if (compare && sourceCount !== targetCount)
    problems.push(`count differs: ${opts.source} has ${sourceCount} points, ${opts.target} has ${targetCount}`);
  if (compare && diff.missingCount > 0) {
    problems.push(
      `${diff.missingCount} id(s) of ${opts.source} missing from ${opts.target} (${missingRecorded} of them recorded as failed items, see failed_sample / retry-failed): ${diff.missing.slice(0, sampleLimit).join(', ')}${diff.missingCount > sampleLimit ? ', ...' : ''}`,
    );
  }
  if (compare && diff.extraCount > 0)
    problems.push(
      `${diff.extraCount} id(s) in ${opts.target} that ${opts.source} lacks: ${diff.extra.slice(0, sampleLimit).join(', ')}${diff.extraCount > sampleLimit ? ', ...' : ''}`,
    );
  if (bad.length > 0)
    problems.push(
      `${bad.length} of ${checked} checked vector(s) are not ${opts.dim}-dimensional unit vectors: ${bad
        .slice(0, 5)
        .map((b) => `${b.asset_id} (${b.problem})`)
        .join(', ')}`,
    );
  return {
    passed: problems.length === 0,
    checked_at: new Date().toISOString(),
    source_collection: opts.source,
    target_collection: opts.target,
    source_count: sourceCount,
    target_count: targetCount,
    counts_equal: sourceCount === targetCount,
    missing: { count: diff.missingCount, sample: diff.missing.slice(0, sampleLimit) },
    extra: { count: diff.extraCount, sample: diff.extra.slice(0, sampleLimit) },
    missing_recorded_failures: missingRecorded,
    vectors: { expected_dim: opts.dim, checked, bad: bad.length, bad_sample: bad.slice(0, sampleLimit) },
    problems,
  };
}

/** Why a stored vector is wrong, or undefined when it is a finite unit vector of `dim` values. */
export function vectorProblem(vector: Float32Array | undefined, dim: number, tolerance = 1e-3): string | undefined {
  if (!vector) return 'no vector stored';
  if (vector.length !== dim) return `dimension ${vector.length}, expected ${dim}`;
  let sum = 0;
  for (const v of vector) {
    if (!Number.isFinite(v)) return 'non-finite value';
    sum += v * v;
  }
  const norm = Math.sqrt(sum);
  return Math.abs(norm - 1) > tolerance ? `norm ${norm.toFixed(5)}, expected 1` : undefined;
}

// A systematic sample (every k-th id in scroll order) spreads over the whole collection,
// unlike the first N ids, which all come from the oldest data.
async function pickVectorSample(
  store: VectorStore,
  collection: string,
  count: number,
  sample: number,
): Promise<string[]> {
  const step = sample <= 0 || sample >= count ? 1 : Math.ceil(count / sample);
  const out: string[] = [];
  let cursor: string | undefined;
  let index = 0;
  do {
    const page = await store.scrollIds(collection, { limit: PAGE, cursor });
    for (const id of page.assetIds) if (index++ % step === 0) out.push(id);
    cursor = page.next;
  } while (cursor);
  return out;
}
