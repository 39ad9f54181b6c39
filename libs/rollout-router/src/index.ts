/** Bucket of a user or session id: exact `id mod 100` for integers, a stable hash otherwise. */
export { bucketOf, hashBucket, BUCKETS } from './bucket.js';
/** Rollout flags, their defaults, variable names, and the flags-file parser. */
export {
  DEFAULT_FLAGS,
  FLAG_VARIABLES,
  FlagError,
  parseFlagsFile,
  readFlags,
  type RolloutFlags,
  type FlagOrigin,
} from './flags.js';
/** Effective flags from the environment plus a live-reloaded flags file. */
export { FlagsSource, type FlagsStatus, type RouterLogger } from './flags-source.js';
/** Cached collection counts for the rollout pair's readiness gate, refreshed in the background. */
export {
  CoverageMonitor,
  type CollectionCounter,
  type CoverageSnapshot,
  type CoveragePair,
} from './coverage-monitor.js';
/** The per-request routing decision (registry model id, role, collection, embedder, bucket, reason). */
export {
  RolloutRouter,
  type RolloutDecision,
  type RolloutRole,
  type RoutePair,
  type RolloutReason,
  type FallbackWhy,
  type RouteTarget,
  type RolloutSubject,
  type RouterDeps,
} from './rollout-router.js';
