export * from './catalogue.js';
/** Typed queues and workers for catalogue queues (prefix = QUEUE_PREFIX). */
export {
  createCatalogueQueue,
  createCatalogueWorker,
  CatalogueQueue,
  defaultJobOptions,
  missingHandlers,
  DEFAULT_QUEUE_PREFIX,
  type CatalogueHandlers,
  type CatalogueJob,
  type JobName,
  type JobPayload,
  type AnyPayload,
  type QueueContext,
} from './queue.factory.js';
/** Exponential backoff with jitter (the custom BullMQ backoff type) and an abortable sleep. */
export {
  JITTER_BACKOFF,
  DEFAULT_BACKOFF,
  backoffDelay,
  jitterBackoffStrategy,
  sleep,
  type BackoffSettings,
} from './backoff.js';
/** Thrown by a job handler for input that can never succeed (no retries). */
export { UnrecoverableError } from 'bullmq';
/** Re-embedding run states, status and report types. */
export * from './reembed.types.js';
/** The run state machine and counters in Redis. */
export { ReembedRunStore, type RunRecord, type FinalizeResult } from './reembed-run.store.js';
/** Start, pause, resume, cancel, verify, retry-failed and status of re-embedding runs. */
export {
  ReembedControl,
  enqueueFullReembedding,
  type ReembedControlOptions,
  type StartOptions,
} from './reembed-control.js';
/** The planner job and deterministic job ids. */
export {
  runReembedPlan,
  enqueueVerify,
  reembedJobIds,
  type ReembedPlanDeps,
  type PlanCatalogue,
} from './reembed-plan.job.js';
/** Completeness verification (counts, id sets, vector dimension and norm). */
export { verifyReembedding, vectorProblem, type VerifyOptions } from './reembed-verify.js';
/** Whether a Redis keeps its data across a restart (CONFIG GET appendonly / save). */
export {
  redisPersistence,
  describePersistence,
  NO_PERSISTENCE_ADVICE,
  type RedisPersistence,
} from './redis-persistence.js';
