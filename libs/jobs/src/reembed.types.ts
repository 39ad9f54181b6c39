import type { ItemErrorReason } from '@image-search/image-formats/item-errors';

/** States of a re-embedding run (stored in Redis, shared by every replica and the gateway). */
export const RUN_STATES = [
  'idle',
  'planning',
  'running',
  'paused',
  'verifying',
  'completed',
  'failed',
  'cancelled',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** States in which a run still has work in flight (a new `start` joins it instead of starting another). */
export const ACTIVE_STATES: readonly RunState[] = ['planning', 'running', 'paused', 'verifying'];

/** Why an item could not be re-embedded: the embedders' per-item reasons (the shared catalogue) or the worker's own. */
export type ItemFailureReason =
  ItemErrorReason | 'FILE_MISSING' | 'PATH_NOT_ALLOWED' | 'NO_PATH' | 'READ_FAILED' | 'BATCH_FAILED' | 'UNSPECIFIED';

/** One item recorded in a run's failed set. */
export interface FailedItem {
  asset_id: string;
  reason: ItemFailureReason | string;
  message: string;
  batch?: number;
  at?: string;
}

/** Outcome of a verification: the seed's count check plus id sets and vector checks. */
export interface VerificationReport {
  passed: boolean;
  checked_at: string;
  source_collection: string;
  target_collection: string;
  source_count: number;
  target_count: number;
  counts_equal: boolean;
  /** Ids in the source (CLIP) missing from the target (SigLIP): first N and the count. */
  missing: { count: number; sample: string[] };
  /** Ids in the target that the source lacks. */
  extra: { count: number; sample: string[] };
  /** How many of the missing ids are recorded item failures of the run (the rest are unexplained). */
  missing_recorded_failures: number;
  vectors: { expected_dim: number; checked: number; bad: number; bad_sample: { asset_id: string; problem: string }[] };
  /**
   * The target collection compared with the asset catalogue (ids and content hashes, the model's tags):
   * present when the catalogue decides which assets exist; then it, not the source, decides `passed`.
   */
  catalogue?: {
    catalogue_count: number;
    missing: { count: number; sample: string[] };
    extra: { count: number; sample: string[] };
    stale: { count: number; sample: string[] };
    wrong_fingerprint: { count: number; sample: string[] };
    coverage: number;
    passed: boolean;
  };
  /** One line per problem, for people. */
  problems: string[];
}

/** What `status` returns: the run's progress as the CLI and the gateway show it. */
export interface ReembedStatus {
  run_id: string | null;
  state: RunState;
  /** The registered models the run migrates from and to (the configured pair before the first run). */
  from_model: string | null;
  to_model: string | null;
  total: number;
  done: number;
  failed: number;
  skipped: number;
  /** SigLIP points / CLIP points (null when the store is not reachable from here). */
  coverage: number | null;
  source_count: number | null;
  target_count: number | null;
  rate_per_s: number;
  eta_s: number | null;
  started_at: string | null;
  updated_at: string | null;
  finished_at: string | null;
  last_error: string | null;
  failed_sample: FailedItem[];
  batch_size: number | null;
  only_missing: boolean;
  batches_total: number;
  batches_done: number;
  batches_failed: number;
  planning_done: boolean;
  verification: VerificationReport | null;
}
